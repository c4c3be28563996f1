"""``Users`` through User Service's typed contract client, each call bounded."""

from __future__ import annotations

from galaxy.gateway.adapters._downstream import bounded
from galaxy_contracts.http import UserClient
from galaxy_contracts.models import Account, AccountUpdate


class HttpUsers:
    def __init__(self, client: UserClient) -> None:
        self._client = client

    async def get(self, user_id: str, *, budget: float) -> Account:
        return await bounded("user", budget, self._client.get(user_id))

    async def update(self, user_id: str, update: AccountUpdate, *, budget: float) -> Account:
        return await bounded("user", budget, self._client.update(user_id, update))
