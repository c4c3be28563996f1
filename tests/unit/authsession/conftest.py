"""Auth/Session in process: the real app over fakeredis with faked User and Mail Services, called through
httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import fakeredis
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette

from galaxy.authsession.main import Wired, create_app, create_login
from galaxy.authsession.settings import Settings
from tests.unit.authsession.fakes import FakeClock, FakeMailService, FakeUserService
from tests.unit.authsession.helpers import SERVICE_TOKENS, Login, write_settings


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def settings(tmp_path: Path, signing_key: Ed25519PrivateKey) -> Settings:
    return write_settings(tmp_path / "secrets", signing_key, downstream_timeout_seconds=0.5)


@pytest.fixture
def redis() -> fakeredis.FakeAsyncRedis:
    return fakeredis.FakeAsyncRedis(decode_responses=True)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def users(clock: FakeClock) -> FakeUserService:
    return FakeUserService(clock=clock)


@pytest.fixture
def mail() -> FakeMailService:
    return FakeMailService()


@pytest.fixture
def wired(
    settings: Settings, redis: fakeredis.FakeAsyncRedis, clock: FakeClock, users: FakeUserService, mail: FakeMailService
) -> Wired:
    return create_login(settings, redis, user_transport=users.transport(), mail_transport=mail.transport(), clock=clock)


@pytest.fixture
async def app(settings: Settings, redis: fakeredis.FakeAsyncRedis, wired: Wired) -> AsyncIterator[Starlette]:
    application = create_app(settings, redis, wired)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def anonymous(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://authsession") as client:
        yield client


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {SERVICE_TOKENS['gateway']}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://authsession", headers=headers
    ) as client:
        yield client


@pytest.fixture
def login(client: httpx.AsyncClient, mail: FakeMailService) -> Login:
    return Login(client, mail)
