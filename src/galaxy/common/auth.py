"""Service-token authentication for HTTP services."""

from __future__ import annotations

import hmac

from starlette.requests import Request

from galaxy.common.problems import ProblemError


class ServiceTokens:
    """Accepts ``Authorization: Bearer <token>`` for any token in the boundary's tokens file."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self._tokens = [(caller, token.encode()) for caller, token in tokens.items()]

    def caller(self, request: Request) -> str:
        """The authenticated caller's name; 401 problem otherwise."""
        presented = bearer_token(request)
        if presented is None:
            raise ProblemError(401, "unauthorized", "missing bearer service token")
        matched = None
        for caller, token in self._tokens:
            if hmac.compare_digest(token, presented.encode()):
                matched = caller
        if matched is None:
            raise ProblemError(401, "unauthorized", "service token not accepted")
        return matched


def bearer_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
