"""The GatewayService servicer: protobuf in, a domain call, protobuf out; errors become statuses."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypeVar

from grpc.aio import ServicerContext

from galaxy.gateway.domain.errors import GatewayError
from galaxy.gateway.domain.model import AccountValues, PushEntry
from galaxy.gateway.domain.service import Gateway
from galaxy.gateway.transport.status import abort, abort_internal
from galaxy_contracts.gateway import pb, pb_grpc
from galaxy_contracts.models import Account

R = TypeVar("R")
Handler = Callable[["Servicer", Any, ServicerContext], Awaitable[R]]


def unary(method: Handler[R]) -> Handler[R]:
    """Domain errors as their statuses; anything else as a plain INTERNAL (logged, never sent)."""

    @functools.wraps(method)
    async def handle(self: Servicer, request: Any, context: ServicerContext) -> R:
        try:
            return await method(self, request, context)
        except GatewayError as exc:
            await abort(context, exc)
        except Exception as exc:  # noqa: BLE001 - a bug must still answer a clean status
            await abort_internal(context, exc)

    return handle


class Servicer(pb_grpc.GatewayServiceServicer):
    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    @unary
    async def StartLogin(self, request: pb.StartLoginRequest, context: ServicerContext) -> pb.StartLoginResponse:
        challenge = await self._gateway.start_login(request.email, request.locale, context.time_remaining())
        response = pb.StartLoginResponse(challenge_id=challenge.challenge_id)
        response.expires_at.FromDatetime(challenge.expires_at)
        return response

    @unary
    async def ConfirmLogin(self, request: pb.ConfirmLoginRequest, context: ServicerContext) -> pb.ConfirmLoginResponse:
        session = await self._gateway.confirm_login(request.challenge_id, request.code, context.time_remaining())
        response = pb.ConfirmLoginResponse(
            session_token=session.session_token,
            session_id=session.session_id,
            user_id=session.user_id,
            new_account=session.new_account,
        )
        response.expires_at.FromDatetime(session.expires_at)
        return response

    @unary
    async def Logout(self, request: pb.LogoutRequest, context: ServicerContext) -> pb.LogoutResponse:
        claims = await self._gateway.authenticate(authorization(context), context.time_remaining())
        await self._gateway.logout(claims, context.time_remaining())
        return pb.LogoutResponse()

    @unary
    async def GetMyAccount(self, request: pb.GetMyAccountRequest, context: ServicerContext) -> pb.Account:
        claims = await self._gateway.authenticate(authorization(context), context.time_remaining())
        return account_message(await self._gateway.my_account(claims, context.time_remaining()))

    @unary
    async def UpdateMyAccount(self, request: pb.UpdateMyAccountRequest, context: ServicerContext) -> pb.Account:
        claims = await self._gateway.authenticate(authorization(context), context.time_remaining())
        paths, values = list(request.update_mask.paths), account_values(request)
        return account_message(await self._gateway.update_my_account(claims, paths, values, context.time_remaining()))

    async def Subscribe(self, request: pb.SubscribeRequest, context: ServicerContext) -> AsyncIterator[pb.PushEvent]:
        try:
            claims = await self._gateway.authenticate(authorization(context), context.time_remaining())
            async with aclosing(self._gateway.subscribe(claims, request.resume_after)) as entries:
                async for entry in entries:
                    yield push_event(entry)
        except GatewayError as exc:
            await abort(context, exc)
        except Exception as exc:  # noqa: BLE001 - a bug must still answer a clean status
            await abort_internal(context, exc)


def authorization(context: ServicerContext) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "authorization" and isinstance(value, str):
            return value
    return None


def account_values(request: pb.UpdateMyAccountRequest) -> AccountValues:
    account = request.account
    preferences = account.notification_preferences
    return AccountValues(
        display_name=account.display_name,
        locale=account.locale,
        email_enabled=preferences.email_enabled,
        push_enabled=preferences.push_enabled,
    )


def account_message(account: Account) -> pb.Account:
    preferences = account.notification_preferences
    message = pb.Account(
        user_id=account.user_id,
        email=account.email,
        display_name=account.display_name,
        locale=account.locale,
        notification_preferences=pb.NotificationPreferences(
            email_enabled=preferences.email_enabled, push_enabled=preferences.push_enabled
        ),
    )
    message.created_at.FromDatetime(account.created_at)
    message.updated_at.FromDatetime(account.updated_at)
    return message


def push_event(entry: PushEntry) -> pb.PushEvent:
    event = pb.PushEvent(
        event_id=str(entry.event_id),
        type=entry.type,
        title=entry.title,
        body=entry.body,
        data_json=entry.data_json,
        intent_id=entry.intent_id,
    )
    event.created_at.FromDatetime(entry.created_at)
    return event
