"""``AuthSession`` through authsession's typed contract client, each call bounded."""

from __future__ import annotations

from galaxy.gateway.adapters._downstream import bounded
from galaxy_contracts.http import AuthSessionClient
from galaxy_contracts.models import Challenge, Session


class HttpAuthSession:
    def __init__(self, client: AuthSessionClient) -> None:
        self._client = client

    async def start_challenge(self, email: str, locale: str | None, *, budget: float) -> Challenge:
        return await bounded("authsession", budget, self._client.start_challenge(email, locale))

    async def confirm(self, challenge_id: str, code: str, *, budget: float) -> Session:
        return await bounded("authsession", budget, self._client.confirm(challenge_id, code))

    async def revoke(self, session_id: str, *, budget: float) -> None:
        await bounded("authsession", budget, self._client.revoke(session_id))
