"""Client of Auth/Session Service (contracts/http/authsession.openapi.yaml)."""

from __future__ import annotations

from galaxy_contracts.http.base import ContractClient
from galaxy_contracts.models import Challenge, KeySet, Session, SessionInfo


class AuthSessionClient(ContractClient):
    service = "authsession"

    async def start_challenge(self, email: str, locale: str | None = None) -> Challenge:
        body = {"email": email} | ({"locale": locale} if locale else {})
        return await self.call(Challenge, "POST", "/v1/challenges", json=body)

    async def confirm(self, challenge_id: str, code: str) -> Session:
        return await self.call(Session, "POST", f"/v1/challenges/{challenge_id}/confirm", json={"code": code})

    async def get_session(self, session_id: str) -> SessionInfo:
        return await self.call(SessionInfo, "GET", f"/v1/sessions/{session_id}")

    async def revoke(self, session_id: str) -> None:
        await self.request("POST", f"/v1/sessions/{session_id}/revoke")

    async def keys(self) -> KeySet:
        return await self.call(KeySet, "GET", "/v1/keys")
