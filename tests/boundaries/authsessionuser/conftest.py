"""Fixtures of the authsessionuser boundary: Auth/Session and User over HTTP, the mail stub, process control."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from galaxy_contracts.http import AuthSessionClient, UserClient
from tests.harness import redis as lab_redis
from tests.harness import secrets as lab_secrets
from tests.harness.keys import unique_email
from tests.harness.login_codes import MailStubCodes
from tests.harness.manifest import Manifest, load_for_suite
from tests.harness.processes import ProcessControl
from tests.harness.stubs import StubControl

BOUNDARY = "authsessionuser"
# authsession waits up to DOWNSTREAM_TIMEOUT_SECONDS (2 s) for User Service; the client waits longer.
CLIENT_TIMEOUT = 10.0


@pytest.fixture(scope="session")
def manifest() -> Manifest:
    return load_for_suite(BOUNDARY)


@pytest.fixture(scope="session")
def secrets(manifest: Manifest) -> lab_secrets.LabSecrets:
    return lab_secrets.read(manifest)


@pytest.fixture(scope="session")
def processes(manifest: Manifest) -> ProcessControl:
    return ProcessControl(manifest)


@pytest.fixture
async def auth(manifest: Manifest, secrets: lab_secrets.LabSecrets) -> AsyncIterator[AuthSessionClient]:
    """Auth/Session as the gateway calls it (the gateway's service token)."""
    token = secrets.service_token("gateway")
    async with AuthSessionClient(manifest.url("authsession"), token, timeout=CLIENT_TIMEOUT) as client:
        yield client


@pytest.fixture
async def users(manifest: Manifest, secrets: lab_secrets.LabSecrets) -> AsyncIterator[UserClient]:
    """User Service's own API, called as the lab (operator actions such as blocking)."""
    async with UserClient(manifest.url("user"), secrets.service_token("lab"), timeout=CLIENT_TIMEOUT) as client:
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
