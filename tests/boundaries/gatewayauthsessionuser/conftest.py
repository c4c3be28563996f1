"""Fixtures of the gatewayauthsessionuser boundary: the gateway, the mail stub's codes, the boundary Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from galaxy_contracts.gateway import GatewayClient
from tests.boundaries.gatewayauthsessionuser.flows import Registered, log_in
from tests.harness import redis as lab_redis
from tests.harness import secrets as lab_secrets
from tests.harness.keys import unique_email
from tests.harness.login_codes import MailStubCodes
from tests.harness.manifest import Manifest, load_for_suite
from tests.harness.stubs import StubControl

BOUNDARY = "gatewayauthsessionuser"


@pytest.fixture(scope="session")
def manifest() -> Manifest:
    return load_for_suite(BOUNDARY)


@pytest.fixture(scope="session")
def secrets(manifest: Manifest) -> lab_secrets.LabSecrets:
    return lab_secrets.read(manifest)


@pytest.fixture
async def gateway(manifest: Manifest) -> AsyncIterator[GatewayClient]:
    async with GatewayClient(manifest.endpoint("gateway")) as client:
        yield client


@pytest.fixture
async def codes(manifest: Manifest, secrets: lab_secrets.LabSecrets) -> AsyncIterator[MailStubCodes]:
    async with StubControl(manifest.url("mail-stub"), secrets.service_token("lab")) as stub:
        yield MailStubCodes(stub)


@pytest.fixture
async def redis(manifest: Manifest) -> AsyncIterator[aioredis.Redis]:
    client = lab_redis.client(manifest)
    yield client
    await client.aclose()


@pytest.fixture
def email(request: pytest.FixtureRequest) -> str:
    return unique_email(request.node.name)


@pytest.fixture
async def registered(gateway: GatewayClient, codes: MailStubCodes, email: str) -> Registered:
    """A new user who just registered through the gateway (first login of a fresh e-mail)."""
    return Registered(email, await log_in(gateway, codes, email))
