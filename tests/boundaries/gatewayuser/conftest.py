"""The gatewayuser boundary: sessions minted with the lab's key for accounts in User Service (generic: harness)."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from galaxy_contracts.http import UserClient
from tests.boundaries.gatewayuser.users import DEFAULT_AUDIENCE, new_user
from tests.harness import secrets as lab_secrets
from tests.harness.manifest import Manifest
from tests.harness.sessions import SessionMinter, User


@pytest.fixture
def audience(manifest: Manifest) -> str:
    return manifest.setting("gateway", "TOKEN_AUDIENCE") or DEFAULT_AUDIENCE


@pytest.fixture
def minter(redis: aioredis.Redis, secrets: lab_secrets.LabSecrets, audience: str) -> SessionMinter:
    return SessionMinter(redis, secrets.signing_key, secrets.signing_kid, audience)


@pytest.fixture
async def user(users: UserClient, minter: SessionMinter, request: pytest.FixtureRequest) -> User:
    return await new_user(users, minter, request.node.name)


@pytest.fixture
async def other_user(users: UserClient, minter: SessionMinter) -> User:
    return await new_user(users, minter, "other")
