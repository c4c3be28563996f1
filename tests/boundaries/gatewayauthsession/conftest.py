"""Fixtures of the gatewayauthsession boundary: the gateway, the mail stub's codes, process control."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from galaxy_contracts.gateway import GatewayClient
from tests.harness import redis as lab_redis
from tests.harness import secrets as lab_secrets
from tests.harness.keys import unique_email
from tests.harness.login_codes import MailStubCodes
from tests.harness.manifest import Manifest, load_for_suite
from tests.harness.processes import ProcessControl
from tests.harness.stubs import StubControl

BOUNDARY = "gatewayauthsession"
# docs/conventions.md defaults, used when the manifest does not publish the setting.
DEFAULT_CHALLENGE_TTL_SECONDS = 600
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_AUDIENCE = "galaxy-gateway"


@pytest.fixture(scope="session")
def manifest() -> Manifest:
    return load_for_suite(BOUNDARY)


@pytest.fixture(scope="session")
def secrets(manifest: Manifest) -> lab_secrets.LabSecrets:
    return lab_secrets.read(manifest)


@pytest.fixture(scope="session")
def processes(manifest: Manifest) -> ProcessControl:
    return ProcessControl(manifest)


@pytest.fixture(scope="session")
def audience(manifest: Manifest) -> str:
    return manifest.setting("authsession", "TOKEN_AUDIENCE") or DEFAULT_AUDIENCE


@pytest.fixture(scope="session")
def challenge_ttl(manifest: Manifest) -> int:
    return int(manifest.setting("authsession", "CHALLENGE_TTL_SECONDS") or DEFAULT_CHALLENGE_TTL_SECONDS)


@pytest.fixture(scope="session")
def max_attempts(manifest: Manifest) -> int:
    return int(manifest.setting("authsession", "CHALLENGE_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS)


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
