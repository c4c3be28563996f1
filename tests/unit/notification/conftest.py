"""Notification Service in process: the real composition root over fakeredis, User Service as an httpx double."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import fakeredis
import pytest

from galaxy.notification.domain.catalog import Templates
from galaxy.notification.main import Resources, create_consumer
from galaxy.notification.settings import Settings
from galaxy.notification.transport.stream import Consumer
from galaxy_contracts import streams
from galaxy_contracts.http import UserClient
from tests.unit.notification.helpers import TOKEN, UserDouble


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def redis(server: fakeredis.FakeServer) -> fakeredis.FakeAsyncRedis:
    return fakeredis.FakeAsyncRedis(server=server, decode_responses=True)


@pytest.fixture
def users() -> UserDouble:
    return UserDouble()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "user.token"
    path.write_text(TOKEN + "\n")
    return path


@pytest.fixture
def make_settings(token_file: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "admin_port": 8051,
            "user_url": "http://user.test",
            "user_token_file": token_file,
            "reclaim_min_idle_ms": 0,
            "max_deliveries": 3,
            "dedupe_ttl_seconds": 3600,
            "consumer_name": "notification-test-1",
            "block_ms": 1,
            "batch": 50,
        }
        return Settings(**(values | overrides))

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def resources(settings: Settings, redis: fakeredis.FakeAsyncRedis, users: UserDouble) -> AsyncIterator[Resources]:
    client = UserClient(settings.user_url, TOKEN, timeout=1.0, transport=users.transport())
    yield Resources(redis=redis, users=client, templates=Templates(streams.typed_catalog()))
    await client.aclose()


@pytest.fixture
def make_consumer(resources: Resources, settings: Settings) -> Callable[..., Consumer]:
    """Consumers built by the composition root; each its own process as far as the group can tell."""

    def make(**overrides: Any) -> Consumer:
        return create_consumer(settings.model_copy(update=overrides), resources)

    return make


@pytest.fixture
def consumer(make_consumer: Callable[..., Consumer]) -> Consumer:
    return make_consumer()
