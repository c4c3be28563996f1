"""Bearer-token authentication for HTTP services: service tokens and the operator credential."""

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


class OperatorToken:
    """The operator credential (one token): 401 without a bearer token, 403 with any other one.

    Mail Service's operator surface and its lab double check it with this same class.
    """

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    def check(self, request: Request) -> None:
        presented = bearer_token(request)
        if presented is None:
            raise ProblemError(401, "unauthorized", "missing bearer operator token")
        if not hmac.compare_digest(self._token, presented.encode()):
            raise ProblemError(403, "forbidden", "the operator surface needs the operator token")


def bearer_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
