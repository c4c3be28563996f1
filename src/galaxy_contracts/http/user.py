"""Client of User Service (contracts/http/user.openapi.yaml)."""

from __future__ import annotations

from galaxy_contracts.http.base import ContractClient
from galaxy_contracts.models import Account, AccountUpdate, BlockRequest, ResolveRequest, ResolveResponse


class UserClient(ContractClient):
    service = "user"

    async def resolve(self, email: str, locale: str | None = None) -> ResolveResponse:
        body = ResolveRequest.model_validate({"email": email, "locale": locale})
        return await self.call(ResolveResponse, "POST", "/v1/accounts/resolve", json=body.model_dump(exclude_none=True))

    async def get(self, user_id: str) -> Account:
        return await self.call(Account, "GET", f"/v1/accounts/{user_id}")

    async def update(self, user_id: str, update: AccountUpdate) -> Account:
        body = update.model_dump(exclude_none=True)
        return await self.call(Account, "PATCH", f"/v1/accounts/{user_id}", json=body)

    async def block(self, user_id: str, reason: str) -> Account:
        body = BlockRequest(reason=reason).model_dump()
        return await self.call(Account, "POST", f"/v1/accounts/{user_id}/block", json=body)

    async def unblock(self, user_id: str) -> Account:
        return await self.call(Account, "POST", f"/v1/accounts/{user_id}/unblock")
