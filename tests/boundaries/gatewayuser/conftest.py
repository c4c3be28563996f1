"""Fixtures of the gatewayuser boundary: the gateway, User Service, the boundary Redis and minted sessions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from galaxy_contracts.gateway import GatewayClient
from galaxy_contracts.http import UserClient
from tests.boundaries.gatewayuser.sessions import SessionMinter, User
from tests.harness import redis as lab_redis
from tests.harness import secrets as lab_secrets
from tests.harness.keys import unique_email
from tests.harness.manifest import Manifest, load_for_suite

BOUNDARY = "gatewayuser"
# docs/conventions.md: the lab's TOKEN_AUDIENCE, used when the manifest does not publish the setting.
DEFAULT_AUDIENCE = "galaxy-gateway"


@pytest.fixture(scope="session")
def manifest() -> Manifest:
    return load_for_suite(BOUNDARY)


@pytest.fixture(scope="session")
def secrets(manifest: Manifest) -> lab_secrets.LabSecrets:
    return lab_secrets.read(manifest)


@pytest.fixture(scope="session")
def audience(manifest: Manifest) -> str:
    return manifest.setting("gateway", "TOKEN_AUDIENCE") or DEFAULT_AUDIENCE


@pytest.fixture
async def gateway(manifest: Manifest) -> AsyncIterator[GatewayClient]:
    async with GatewayClient(manifest.endpoint("gateway")) as client:
        yield client


@pytest.fixture
async def users(manifest: Manifest, secrets: lab_secrets.LabSecrets) -> AsyncIterator[UserClient]:
    """User Service's own API, called as the lab."""
    async with UserClient(manifest.url("user"), secrets.service_token("lab"), timeout=5.0) as client:
        yield client


@pytest.fixture
async def redis(manifest: Manifest) -> AsyncIterator[aioredis.Redis]:
    client = lab_redis.client(manifest)
    yield client
    await client.aclose()


@pytest.fixture
def minter(redis: aioredis.Redis, secrets: lab_secrets.LabSecrets, audience: str) -> SessionMinter:
    return SessionMinter(redis, secrets.signing_key, secrets.signing_kid, audience)


async def new_user(users: UserClient, minter: SessionMinter, tag: str) -> User:
    resolved = await users.resolve(unique_email(tag))
    return User(resolved.account, await minter.open(resolved.account.user_id))


@pytest.fixture
async def user(users: UserClient, minter: SessionMinter, request: pytest.FixtureRequest) -> User:
    return await new_user(users, minter, request.node.name)


@pytest.fixture
async def other_user(users: UserClient, minter: SessionMinter) -> User:
    return await new_user(users, minter, "other")
