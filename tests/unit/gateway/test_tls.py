"""The gateway's public gRPC port over TLS: a client verifying with the lab's CA logs in; a plain-text
client and one trusting another CA are refused (UNAVAILABLE, the call never reaches the servicer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import fakeredis
import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from galaxy.common.tls import ServerTLS
from galaxy.gateway.main import Resources, RunningGateway, start
from galaxy_contracts.gateway import GatewayClient
from galaxy_contracts.http import AuthSessionClient, UserClient
from galaxy_contracts.tokens import public_keys_from_pem, public_pem
from tests.unit.common.certs import TlsFiles, write_tls
from tests.unit.gateway.fakes import FakeAuthSession, FakeUsers
from tests.unit.gateway.helpers import GATEWAY_TOKEN, KID, settings


@pytest.fixture
async def gateway(tmp_path: Path, tls: TlsFiles) -> AsyncIterator[tuple[RunningGateway, FakeAuthSession]]:
    redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)
    key = Ed25519PrivateKey.generate()
    users = FakeUsers(token=GATEWAY_TOKEN)
    authsession = FakeAuthSession(token=GATEWAY_TOKEN, redis=redis, key=key, kid=KID, users=users)
    resources = Resources(
        redis=redis,
        authsession=AuthSessionClient("http://authsession.test", GATEWAY_TOKEN, transport=authsession.transport()),
        users=UserClient("http://user.test", GATEWAY_TOKEN, transport=users.transport()),
        keys=public_keys_from_pem({KID: public_pem(key)}),
        tls=ServerTLS(tls.cert, tls.key),
    )
    running = await start(settings(tmp_path), resources, port=0, admin_port=0)
    try:
        yield running, authsession
    finally:
        await running.stop(0)
        await resources.aclose()


async def test_a_client_verifying_with_the_labs_ca_is_served(
    gateway: tuple[RunningGateway, FakeAuthSession], tls: TlsFiles
) -> None:
    running, _ = gateway
    async with GatewayClient(f"127.0.0.1:{running.grpc_port}", root_certificates=tls.ca_pem()) as client:
        started = await client.start_login("ada@example.com")

    assert started.challenge_id


async def test_a_plain_text_client_is_refused(gateway: tuple[RunningGateway, FakeAuthSession]) -> None:
    running, authsession = gateway
    async with GatewayClient(f"127.0.0.1:{running.grpc_port}", timeout=2) as client:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await client.start_login("ada@example.com")

    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert not authsession.requests


async def test_a_client_trusting_another_ca_is_refused(
    gateway: tuple[RunningGateway, FakeAuthSession], tmp_path: Path
) -> None:
    running, authsession = gateway
    other = write_tls(tmp_path / "other", lab="other")
    async with GatewayClient(f"127.0.0.1:{running.grpc_port}", timeout=2, root_certificates=other.ca_pem()) as client:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await client.start_login("ada@example.com")

    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert not authsession.requests
