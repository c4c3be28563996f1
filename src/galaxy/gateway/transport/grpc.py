"""The GatewayService servicer: protobuf in, a domain call, protobuf out; errors become statuses."""

from __future__ import annotations

import asyncio
import functools
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypeVar
from urllib.parse import unquote

from grpc.aio import ServicerContext

from galaxy.gateway.domain.errors import DeadlineExceeded, GatewayError
from galaxy.gateway.domain.model import AccountValues, PushEntry
from galaxy.gateway.domain.service import Gateway
from galaxy.gateway.transport.status import abort, abort_internal
from galaxy_contracts.gateway import pb, pb_grpc
from galaxy_contracts.models import Account

R = TypeVar("R")
Remaining = Callable[[], float]
"""Seconds the call has left: the gateway's time for a call or the client's deadline, whichever ends first."""
Handler = Callable[["Servicer", Any, ServicerContext, Remaining], Awaitable[R]]
RpcMethod = Callable[["Servicer", Any, ServicerContext], Awaitable[R]]


def unary(method: Handler[R]) -> RpcMethod[R]:
    """Bounded in time even when the client set no deadline (``DeadlineExceeded`` when the time is up: the
    domain's downstream calls get most of ``remaining()``, so a slow downstream is UNAVAILABLE first).
    Domain errors as their statuses; anything else as a plain INTERNAL (logged, never sent)."""

    @functools.wraps(method)
    async def handle(self: Servicer, request: Any, context: ServicerContext) -> R:
        loop = asyncio.get_running_loop()
        allowed = min(self.rpc_timeout, context.time_remaining() or math.inf)
        ends = loop.time() + allowed
        scope = asyncio.timeout_at(ends)
        try:
            async with scope:
                return await method(self, request, context, lambda: max(0.0, ends - loop.time()))
        except GatewayError as exc:
            await abort(context, exc)
        except TimeoutError as exc:
            if scope.expired():
                await abort(context, DeadlineExceeded(allowed))
            await abort_internal(context, exc)
        except Exception as exc:  # noqa: BLE001 - a bug must still answer a clean status
            await abort_internal(context, exc)

    return handle


class Servicer(pb_grpc.GatewayServiceServicer):
    def __init__(self, gateway: Gateway, rpc_timeout: float) -> None:
        self._gateway = gateway
        self.rpc_timeout = rpc_timeout

    @unary
    async def StartLogin(
        self, request: pb.StartLoginRequest, context: ServicerContext, remaining: Remaining
    ) -> pb.StartLoginResponse:
        client = client_address(context.peer())
        challenge = await self._gateway.start_login(request.email, request.locale, remaining(), client)
        response = pb.StartLoginResponse(challenge_id=challenge.challenge_id)
        response.expires_at.FromDatetime(challenge.expires_at)
        return response

    @unary
    async def ConfirmLogin(
        self, request: pb.ConfirmLoginRequest, context: ServicerContext, remaining: Remaining
    ) -> pb.ConfirmLoginResponse:
        session = await self._gateway.confirm_login(request.challenge_id, request.code, remaining())
        response = pb.ConfirmLoginResponse(
            session_token=session.session_token,
            session_id=session.session_id,
            user_id=session.user_id,
            new_account=session.new_account,
        )
        response.expires_at.FromDatetime(session.expires_at)
        return response

    @unary
    async def Logout(
        self, request: pb.LogoutRequest, context: ServicerContext, remaining: Remaining
    ) -> pb.LogoutResponse:
        claims = await self._gateway.authenticate(authorization(context), remaining())
        await self._gateway.logout(claims, remaining())
        return pb.LogoutResponse()

    @unary
    async def GetMyAccount(
        self, request: pb.GetMyAccountRequest, context: ServicerContext, remaining: Remaining
    ) -> pb.Account:
        claims = await self._gateway.authenticate(authorization(context), remaining())
        return account_message(await self._gateway.my_account(claims, remaining()))

    @unary
    async def UpdateMyAccount(
        self, request: pb.UpdateMyAccountRequest, context: ServicerContext, remaining: Remaining
    ) -> pb.Account:
        claims = await self._gateway.authenticate(authorization(context), remaining())
        paths, values = list(request.update_mask.paths), account_values(request)
        return account_message(await self._gateway.update_my_account(claims, paths, values, remaining()))

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


def client_address(peer: str) -> str:
    """The client's IP from a gRPC peer (``ipv4:10.0.0.7:5555``, ``ipv6:[::1]:5555``, percent-encoded in some
    gRPC versions); every client of a Unix socket is one client (``unix``)."""
    kind, _, rest = unquote(peer).partition(":")
    if kind in ("ipv4", "ipv6"):
        return rest.rpartition(":")[0].strip("[]") or rest
    return kind or "unknown"


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
