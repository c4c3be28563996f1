"""User v1 routes (contracts/http/user.openapi.yaml), served from the in-memory store.

Each handler checks in User Service's order (credential, body, id, values, then the account), so the same
request gets the same status and problem code from the service and from this double."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from galaxy.common.auth import ServiceTokens
from galaxy.common.problems import ProblemError
from galaxy_contracts.models import (
    USER_ID_PATTERN,
    AccountUpdate,
    BlockRequest,
    FieldViolation,
    ResolveRequest,
    ResolveResponse,
)
from galaxylab.stubs.domain.accounts import AccountNotFound, AccountStore, InvalidUpdate
from galaxylab.stubs.transport.common import model_response, path_id, read_body

RESOLVE = "resolve"


class UserApi:
    def __init__(self, store: AccountStore, tokens: ServiceTokens) -> None:
        self.store = store
        self.tokens = tokens

    def routes(self) -> list[Route]:
        return [
            Route(f"/v1/accounts/{RESOLVE}", self.resolve, methods=["POST"]),
            # One route for both methods, so a 405 there names both in `Allow` (as the contract does).
            Route("/v1/accounts/{user_id}", self.account, methods=["GET", "PATCH"]),
            Route("/v1/accounts/{user_id}/block", self.block, methods=["POST"]),
            Route("/v1/accounts/{user_id}/unblock", self.unblock, methods=["POST"]),
        ]

    async def resolve(self, request: Request) -> Response:
        self.tokens.caller(request)
        body = await read_body(request, ResolveRequest)
        account, created = self.store.resolve(body.email, body.locale)
        return model_response(ResolveResponse(account=account, created=created))

    async def account(self, request: Request) -> Response:
        return await (self.update(request) if request.method == "PATCH" else self.get(request))

    async def get(self, request: Request) -> Response:
        _not_resolve(request)
        self.tokens.caller(request)
        user_id = _user_id(request)
        with _known_account():
            return model_response(self.store.get(user_id))

    async def update(self, request: Request) -> Response:
        _not_resolve(request)
        self.tokens.caller(request)
        body = await read_body(request, AccountUpdate)
        user_id = _user_id(request)
        with _valid_change(), _known_account():
            return model_response(self.store.update(user_id, body))

    async def block(self, request: Request) -> Response:
        self.tokens.caller(request)
        body = await read_body(request, BlockRequest)
        user_id = _user_id(request)
        with _valid_change(), _known_account():
            return model_response(self.store.block(user_id, body.reason))

    async def unblock(self, request: Request) -> Response:
        self.tokens.caller(request)
        user_id = _user_id(request)
        with _known_account():
            return model_response(self.store.unblock(user_id))


def _not_resolve(request: Request) -> None:
    """``/v1/accounts/resolve`` is the resolve route's path, not an id: only POST exists there (405 before
    authentication, as User Service answers)."""
    if request.path_params["user_id"] == RESOLVE:
        raise HTTPException(405, headers={"Allow": "POST"})


def _user_id(request: Request) -> str:
    return path_id(request, "user_id", USER_ID_PATTERN)


@contextmanager
def _valid_change() -> Iterator[None]:
    try:
        yield
    except InvalidUpdate as exc:
        errors = [FieldViolation(field=exc.field, message=exc.message)]
        raise ProblemError(422, "validation_failed", "one or more fields are invalid", errors) from exc


@contextmanager
def _known_account() -> Iterator[None]:
    try:
        yield
    except AccountNotFound as exc:
        raise ProblemError(404, "not_found", "no such account") from exc
