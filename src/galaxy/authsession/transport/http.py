"""HTTP routes: authenticate, parse, call the login service, map refusals to problem+json."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from galaxy.authsession.domain import errors
from galaxy.authsession.domain.service import LoginService
from galaxy.common import problems
from galaxy.common.auth import ServiceTokens
from galaxy.common.problems import ProblemError, problem_response, read_json
from galaxy_contracts.models import (
    CHALLENGE_ID_PATTERN,
    SESSION_ID_PATTERN,
    Challenge,
    ConfirmRequest,
    FieldViolation,
    KeySet,
    PublicKey,
    Session,
    SessionInfo,
    StartChallengeRequest,
)

log = logging.getLogger(__name__)
_PROBLEMS: dict[type[errors.AuthSessionError], tuple[int, str, str]] = {
    errors.ChallengeNotFound: (404, "challenge_not_found", "unknown, used or expired challenge"),
    errors.InvalidCode: (401, "invalid_code", ""),
    errors.TooManyAttempts: (429, "too_many_attempts", "attempt limit reached; start a new login"),
    errors.TooManyChallenges: (429, "too_many_challenges", ""),
    errors.AccountBlocked: (403, "account_blocked", "the account is blocked"),
    errors.SessionNotFound: (404, "session_not_found", "no active session with this id"),
    errors.UpstreamUnavailable: (503, "upstream_unavailable", ""),
}


class Api:
    def __init__(self, login: LoginService, tokens: ServiceTokens) -> None:
        self._login = login
        self._tokens = tokens
        signer = login.signer
        self._keys = KeySet(keys=[PublicKey(kid=signer.kid, public_key_pem=signer.public_pem())])

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v1/challenges", self.start_challenge, methods=["POST"]),
            Route("/v1/challenges/{challenge_id}/confirm", self.confirm_challenge, methods=["POST"]),
            Route("/v1/sessions/{session_id}", self.get_session, methods=["GET"]),
            Route("/v1/sessions/{session_id}/revoke", self.revoke_session, methods=["POST"]),
            Route("/v1/keys", self.list_keys, methods=["GET"]),
        ]

    async def start_challenge(self, request: Request) -> Response:
        self._tokens.caller(request)
        body = await read_json(request, StartChallengeRequest, forbid_null=True)
        challenge = await self._login.start(str(body.email), body.locale)
        answer = Challenge(challenge_id=challenge.challenge_id, expires_at=_utc(challenge.expires_at))
        return _json(answer.model_dump(mode="json"), 201)

    async def confirm_challenge(self, request: Request) -> Response:
        self._tokens.caller(request)
        challenge_id = _path_id(request, "challenge_id", CHALLENGE_ID_PATTERN)
        body = await read_json(request, ConfirmRequest)
        opened = await self._login.confirm(challenge_id, body.code)
        answer = Session(
            session_token=opened.token,
            session_id=opened.session.session_id,
            user_id=opened.session.user_id,
            new_account=opened.new_account,
            expires_at=_utc(opened.session.expires_at),
        )
        return _json(answer.model_dump(mode="json"))

    async def get_session(self, request: Request) -> Response:
        self._tokens.caller(request)
        session = await self._login.session(_path_id(request, "session_id", SESSION_ID_PATTERN))
        info = SessionInfo(session_id=session.session_id, user_id=session.user_id, expires_at=_utc(session.expires_at))
        return _json(info.model_dump(mode="json"))

    async def revoke_session(self, request: Request) -> Response:
        self._tokens.caller(request)
        await self._login.revoke(_path_id(request, "session_id", SESSION_ID_PATTERN))
        return Response(status_code=204)

    async def list_keys(self, _: Request) -> Response:
        return _json(self._keys.model_dump(mode="json"))


def _path_id(request: Request, name: str, pattern: str) -> str:
    value = str(request.path_params[name])
    if not re.fullmatch(pattern, value):
        violation = FieldViolation(field=name, message=f"must match {pattern}")
        raise ProblemError(422, "validation_failed", f"invalid {name}", [violation])
    return value


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


async def _on_refusal(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.AuthSessionError)
    status, code, detail = _PROBLEMS.get(type(exc), (500, "internal_error", "unexpected refusal"))
    remaining = exc.remaining_attempts if isinstance(exc, errors.InvalidCode) else None
    headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, errors.TooManyChallenges) else None
    return problem_response(status, code, detail or str(exc), headers=headers, remaining_attempts=remaining)


async def _on_redis_down(request: Request, exc: Exception) -> Response:
    log.warning("redis unavailable", extra={"path": request.url.path, "error": type(exc).__name__})
    return problem_response(503, "upstream_unavailable", "session storage unavailable; retry later")


EXCEPTION_HANDLERS: dict[Any, Any] = problems.EXCEPTION_HANDLERS | {
    errors.AuthSessionError: _on_refusal,
    RedisConnectionError: _on_redis_down,
    RedisTimeoutError: _on_redis_down,
}
