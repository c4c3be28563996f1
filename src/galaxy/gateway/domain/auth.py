"""Who is calling: the session token verified locally, then the session checked in Redis on every call."""

from __future__ import annotations

import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from galaxy.gateway.domain.errors import Unauthenticated
from galaxy.gateway.domain.ports import Sessions
from galaxy_contracts.tokens import LEEWAY_SECONDS, Claims, InvalidToken, verify

BEARER_HINT = "send metadata 'authorization: Bearer <session token>'"


class Authenticator:
    def __init__(
        self,
        keys: dict[str, Ed25519PublicKey],
        audience: str,
        sessions: Sessions,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._audience = audience
        self._sessions = sessions
        self._clock = clock

    async def authenticate(self, authorization: str | None, *, budget: float) -> Claims:
        """The caller's claims; ``Unauthenticated`` for a missing, bad or revoked token."""
        claims = self._verify(bearer_token(authorization))
        await self.ensure_active(claims, budget=budget)
        return claims

    async def ensure_active(self, claims: Claims, *, budget: float) -> None:
        """Still acceptable: not expired, and the session exists for this user (redis/keys.md)."""
        if self._clock() > claims.expires_at + LEEWAY_SECONDS:
            raise Unauthenticated("invalid session token: token expired")
        if await self._sessions.user_of(claims.session_id, budget=budget) != claims.user_id:
            raise Unauthenticated("session revoked or expired; log in again")

    def _verify(self, token: str) -> Claims:
        try:
            return verify(token, self._keys, self._audience)
        except InvalidToken as exc:
            raise Unauthenticated(f"invalid session token: {exc}") from None


def bearer_token(authorization: str | None) -> str:
    if authorization is None or not authorization.strip():
        raise Unauthenticated(f"missing session token: {BEARER_HINT}")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(f"malformed authorization metadata: {BEARER_HINT}")
    return token.strip()
