"""authsession and user through their typed contract clients, each call bounded."""

from __future__ import annotations

from galaxy.gateway.adapters.deadline import bounded
from galaxy_contracts.http import AuthSessionClient, UserClient
from galaxy_contracts.models import Account, AccountUpdate, Challenge, Session


class HttpAuthSession:
    def __init__(self, client: AuthSessionClient) -> None:
        self._client = client

    async def start_challenge(self, email: str, locale: str | None, *, budget: float) -> Challenge:
        return await bounded("authsession", budget, self._client.start_challenge(email, locale))

    async def confirm(self, challenge_id: str, code: str, *, budget: float) -> Session:
        return await bounded("authsession", budget, self._client.confirm(challenge_id, code))

    async def revoke(self, session_id: str, *, budget: float) -> None:
        await bounded("authsession", budget, self._client.revoke(session_id))


class HttpUsers:
    def __init__(self, client: UserClient) -> None:
        self._client = client

    async def get(self, user_id: str, *, budget: float) -> Account:
        return await bounded("user", budget, self._client.get(user_id))

    async def update(self, user_id: str, update: AccountUpdate, *, budget: float) -> Account:
        return await bounded("user", budget, self._client.update(user_id, update))
