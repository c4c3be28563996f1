"""User Service in process: the real app over fakeredis, called through httpx's ASGI transport."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import fakeredis
import httpx
import pytest
from starlette.applications import Starlette

from galaxy.user.main import create_app
from galaxy.user.settings import Settings
from tests.unit.user.helpers import AUTH, TOKENS


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def redis(server: fakeredis.FakeServer) -> fakeredis.FakeAsyncRedis:
    return fakeredis.FakeAsyncRedis(server=server, decode_responses=True)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    tokens = tmp_path / "service-tokens.json"
    tokens.write_text(json.dumps(TOKENS))
    return Settings(port=8030, admin_port=8031, service_tokens_file=tokens)


@pytest.fixture
def app(settings: Settings, redis: fakeredis.FakeAsyncRedis) -> Starlette:
    return create_app(settings, redis)


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://user") as client:
        yield client


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://user", headers=AUTH
    ) as client:
        yield client


@pytest.fixture
async def account(client: httpx.AsyncClient) -> dict[str, object]:
    response = await client.post("/v1/accounts/resolve", json={"email": "ada@example.com"})
    assert response.status_code == 200
    created: dict[str, object] = response.json()["account"]
    return created
