"""The real gateway (grpc.aio + admin port) in-process on 127.0.0.1:0, with fakeredis and faked downstreams."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fakeredis
import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.rpc import error_details_pb2, status_pb2

from galaxy.gateway.main import Resources, RunningGateway, start
from galaxy.gateway.settings import Settings
from galaxy_contracts.gateway import bearer, pb, pb_grpc
from galaxy_contracts.http import AuthSessionClient, UserClient
from galaxy_contracts.tokens import public_keys_from_pem, public_pem, sign
from tests.harness.waits import until_async
from tests.unit.gateway.fakes import AUDIENCE, FakeAuthSession, FakeUsers

GATEWAY_TOKEN = "gateway-service-token"
KID = "k1"


async def eventually(check: Callable[[], Awaitable[bool] | bool], within: float = 5.0, what: str = "condition") -> None:
    """Poll ``check`` until true, failing after ``within`` seconds."""

    async def probe() -> bool:
        result = check()
        return bool(await result) if isinstance(result, Awaitable) else bool(result)

    await until_async(probe, within=within, what=what, interval=0.01)


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


@pytest.fixture
def gateway_options() -> dict[str, Any]:
    """Settings a test module may override (e.g. a short downstream timeout)."""
    return {}


@pytest.fixture
async def lab(tmp_path: Path, gateway_options: dict[str, Any]) -> AsyncIterator[Lab]:
    server = fakeredis.FakeServer()
    redis = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    key = Ed25519PrivateKey.generate()
    users = FakeUsers(token=GATEWAY_TOKEN)
    authsession = FakeAuthSession(token=GATEWAY_TOKEN, redis=redis, key=key, kid=KID, users=users)
    resources = Resources(
        redis=redis,
        authsession=AuthSessionClient("http://authsession.test", GATEWAY_TOKEN, transport=authsession.transport()),
        users=UserClient("http://user.test", GATEWAY_TOKEN, transport=users.transport()),
        keys=public_keys_from_pem({KID: public_pem(key)}),
    )
    running = await start(settings(tmp_path, **gateway_options), resources, port=0, admin_port=0)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.grpc_port}")
    try:
        stub = pb_grpc.GatewayServiceStub(channel)
        yield Lab(running, stub, channel, redis, server, authsession, users, key)
    finally:
        await channel.close(None)
        await running.stop(0)
        await resources.aclose()


def auth(token: str) -> tuple[tuple[str, str], ...]:
    return bearer(token)


def rich_status(error: grpc.aio.AioRpcError) -> status_pb2.Status:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            return status_pb2.Status.FromString(value)
    pytest.fail(f"no google.rpc.Status in the trailers of {error.code()}: {error.details()}")


def field_violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """The BadRequest detail as {field: description}."""
    for detail in rich_status(error).details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            return {v.field: v.description for v in bad_request.field_violations}
    pytest.fail("no google.rpc.BadRequest detail")


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    for detail in rich_status(error).details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info
    pytest.fail("no google.rpc.ErrorInfo detail")


async def rpc_error(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


__all__ = ["Lab", "auth", "error_info", "eventually", "field_violations", "pb", "rpc_error"]
