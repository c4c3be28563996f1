"""The notificationgateway boundary's own fixtures: the user stub, sessions, members with open sessions, the
gateway's Subscribe cap."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from tests.boundaries.notificationgateway.members import Member, new_member
from tests.harness import sessions
from tests.harness.fixtures import Clients
from tests.harness.manifest import Manifest
from tests.harness.secrets import LabSecrets
from tests.harness.sessions import SessionMinter
from tests.harness.stubs import StubControl

USER_STUB = "user-stub"
# docs/conventions.md default, used when the manifest does not publish the setting.
DEFAULT_SUBSCRIPTIONS_PER_USER = 10


@pytest.fixture
async def stub(clients: Clients) -> StubControl:
    """The user stub's control API: accounts Notification Service will find."""
    control: StubControl = await clients(USER_STUB)
    return control


@pytest.fixture
def minter(manifest: Manifest, redis: aioredis.Redis, secrets: LabSecrets) -> SessionMinter:
    return sessions.minter(manifest, redis, secrets)


@pytest.fixture
async def member(stub: StubControl, minter: SessionMinter) -> Member:
    """A user with two open sessions (two subscriptions of one user)."""
    return await new_member(stub, minter, "member", sessions=2)


@pytest.fixture
async def other(stub: StubControl, minter: SessionMinter) -> Member:
    """Another user, whose subscription must see none of ``member``'s events."""
    return await new_member(stub, minter, "other")


@pytest.fixture
def subscriptions_per_user(manifest: Manifest) -> int:
    """Open Subscribe streams the gateway allows one user."""
    return int(manifest.setting("gateway", "SUBSCRIPTIONS_PER_USER") or DEFAULT_SUBSCRIPTIONS_PER_USER)
