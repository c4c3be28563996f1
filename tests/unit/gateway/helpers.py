"""Shared bits of the gateway unit tests: the in-process gateway under test (``Lab``) and its settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fakeredis
import grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from galaxy.gateway.main import RunningGateway
from galaxy.gateway.settings import Settings
from galaxy_contracts.gateway import pb_grpc
from galaxy_contracts.tokens import sign
from tests.unit.gateway.fakes import AUDIENCE, FakeAuthSession, FakeUsers

GATEWAY_TOKEN = "gateway-service-token"
KID = "k1"


@dataclass
class Lab:
    running: RunningGateway
    stub: pb_grpc.GatewayServiceStub
    channel: grpc.aio.Channel
    redis: Any
    server: fakeredis.FakeServer
    authsession: FakeAuthSession
    users: FakeUsers
    key: Ed25519PrivateKey

    async def login(self, email: str = "ada@example.com") -> dict[str, Any]:
        """A session opened the way authsession opens one (user account created)."""
        user_id = self.users.add(email) if email not in {a["email"] for a in self.users.accounts.values()} else None
        user_id = user_id or next(u for u, a in self.users.accounts.items() if a["email"] == email)
        return await self.authsession.open_session(user_id)

    def token(self, user_id: str, session_id: str, **overrides: Any) -> str:
        args: dict[str, Any] = {"user_id": user_id, "session_id": session_id, "audience": AUDIENCE, "ttl_seconds": 600}
        key, kid = overrides.pop("key", self.key), overrides.pop("kid", KID)
        return sign(key, kid, **(args | overrides))


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "listen_host": "127.0.0.1",
        "port": 1,
        "admin_port": 1,
        "redis_url": "redis://fake",
        "authsession_url": "http://authsession.test",
        "authsession_token_file": tmp_path / "authsession-token",
        "user_url": "http://user.test",
        "user_token_file": tmp_path / "user-token",
        "token_keys_file": tmp_path / "token-keys.json",
        "downstream_timeout_seconds": 2.0,
    }
    return Settings(**(values | overrides))
