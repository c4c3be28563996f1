"""The real gateway (grpc.aio + admin port) in-process on 127.0.0.1:0, with fakeredis and faked downstreams."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import fakeredis
import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from galaxy.gateway.main import Resources, start
from galaxy_contracts.gateway import pb_grpc
from galaxy_contracts.http import AuthSessionClient, UserClient
from galaxy_contracts.tokens import public_keys_from_pem, public_pem
from tests.unit.gateway.fakes import FakeAuthSession, FakeUsers
from tests.unit.gateway.helpers import GATEWAY_TOKEN, KID, Lab, settings


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
