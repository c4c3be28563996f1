"""HTTP routes of contracts/http/user.openapi.yaml: authenticate, parse, call the domain, map errors."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from galaxy.common import problems
from galaxy.common.auth import ServiceTokens
from galaxy.common.problems import problem_response, read_json
from galaxy.user.domain.errors import AccountNotFound, Invalid, StoreUnavailable
from galaxy.user.domain.model import Account, PreferencesChange, ProfileChange
from galaxy.user.domain.service import Accounts
from galaxy_contracts import models
from galaxy_contracts.models import AccountUpdate, BlockRequest, FieldViolation, ResolveRequest, ResolveResponse

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
RESOLVE = "resolve"


class Api:
    def __init__(self, accounts: Accounts, tokens: ServiceTokens) -> None:
        self._accounts = accounts
        self._tokens = tokens

    def routes(self) -> list[Route]:
        return [
            Route(f"/v1/accounts/{RESOLVE}", self.resolve, methods=["POST"]),
            Route("/v1/accounts/{user_id}", self.account, methods=["GET", "PATCH"]),
            Route("/v1/accounts/{user_id}/block", self.block, methods=["POST"]),
            Route("/v1/accounts/{user_id}/unblock", self.unblock, methods=["POST"]),
        ]

    async def resolve(self, request: Request) -> Response:
        self._tokens.caller(request)
        body = await _body(request, ResolveRequest)
        account, created = await self._accounts.resolve(body.email, body.locale)
        return _json(ResolveResponse(account=public(account), created=created))

    async def account(self, request: Request) -> Response:
        if request.path_params["user_id"] == RESOLVE:  # the resolve route's path: only POST exists there
            raise HTTPException(405, headers={"Allow": "POST"})
        if request.method == "PATCH":
            return await self.update(request)
        self._tokens.caller(request)
        return _json(public(await self._accounts.get(request.path_params["user_id"])))

    async def update(self, request: Request) -> Response:
        self._tokens.caller(request)
        body = await _body(request, AccountUpdate)
        return _json(public(await self._accounts.update(request.path_params["user_id"], profile_change(body))))

    async def block(self, request: Request) -> Response:
        caller = self._tokens.caller(request)
        body = await _body(request, BlockRequest)
        account = await self._accounts.block(request.path_params["user_id"], body.reason)
        log.info("block requested", extra={"user_id": account.user_id, "caller": caller})
        return _json(public(account))

    async def unblock(self, request: Request) -> Response:
        caller = self._tokens.caller(request)
        account = await self._accounts.unblock(request.path_params["user_id"])
        log.info("unblock requested", extra={"user_id": account.user_id, "caller": caller})
        return _json(public(account))


async def _body(request: Request, model: type[M]) -> M:
    """Strictly typed body (no coercion, no ``null`` for an optional field)."""
    return await read_json(request, model, strict=True, forbid_null=True)


def profile_change(body: AccountUpdate) -> ProfileChange:
    prefs = body.notification_preferences
    return ProfileChange(
        display_name=body.display_name,
        locale=body.locale,
        preferences=None if prefs is None else PreferencesChange(prefs.email_enabled, prefs.push_enabled),
    )


def public(account: Account) -> models.Account:
    return models.Account(
        user_id=account.user_id,
        email=account.email,
        display_name=account.display_name,
        locale=account.locale,
        notification_preferences=models.NotificationPreferences(
            email_enabled=account.preferences.email_enabled, push_enabled=account.preferences.push_enabled
        ),
        blocked=account.blocked,
        created_at=account.created_at,
        updated_at=account.updated_at,
    )


def _json(body: BaseModel) -> Response:
    return JSONResponse(body.model_dump(mode="json"))


async def _on_invalid(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Invalid)
    errors = [FieldViolation(field=field, message=reason) for field, reason in exc.violations.items()]
    return problem_response(422, "validation_failed", "one or more fields are invalid", errors)


async def _on_not_found(_: Request, exc: Exception) -> Response:
    return problem_response(404, "not_found", "no account with this user_id")


async def _on_unavailable(_: Request, exc: Exception) -> Response:
    log.warning("account store unavailable", extra={"reason": str(exc)})
    return problem_response(503, "upstream_unavailable", "the account store is unavailable; retry later")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    **problems.EXCEPTION_HANDLERS,
    Invalid: _on_invalid,
    AccountNotFound: _on_not_found,
    StoreUnavailable: _on_unavailable,
}
