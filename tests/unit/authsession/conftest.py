from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import fakeredis
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette

from galaxy.authsession.main import create_app
from galaxy.authsession.settings import Settings
from tests.unit.authsession.fakes import MAIL_TOKEN, USER_TOKEN, FakeClock, FakeMailService, FakeUserService

SERVICE_TOKENS = {"gateway": "gateway-token", "lab": "lab-token"}
KID = "k-test-1"


@pytest.fixture
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def write_settings(directory: Path, key: Ed25519PrivateKey, **overrides: object) -> Settings:
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "service_tokens_file": ("service-tokens.json", json.dumps(SERVICE_TOKENS)),
        "user_token_file": ("user.token", USER_TOKEN + "\n"),
        "mail_token_file": ("mail.token", MAIL_TOKEN + "\n"),
        "signing_key_file": (
            "signing-key.pem",
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
        ),
    }
    paths = {}
    for setting, (name, content) in files.items():
        (directory / name).write_text(content)
        paths[setting] = directory / name
    values: dict[str, object] = {
        "port": 18020,
        "admin_port": 18021,
        "user_url": "http://user.invalid",
        "mail_url": "http://mail.invalid",
        "signing_kid": KID,
        **paths,
        **overrides,
    }
    return Settings.model_validate(values)


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
def users() -> FakeUserService:
    return FakeUserService()


@pytest.fixture
def mail() -> FakeMailService:
    return FakeMailService()


@pytest.fixture
async def app(
    settings: Settings, redis: fakeredis.FakeAsyncRedis, clock: FakeClock, users: FakeUserService, mail: FakeMailService
) -> AsyncIterator[Starlette]:
    application = create_app(
        settings, redis, user_transport=users.transport(), mail_transport=mail.transport(), clock=clock
    )
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


@dataclass
class Login:
    """Starts challenges and reads the code from the mail double, as a user reads their inbox."""

    client: httpx.AsyncClient
    mail: FakeMailService

    async def start(self, email: str = "ada@example.com", locale: str | None = None) -> tuple[str, str]:
        body = {"email": email} | ({"locale": locale} if locale else {})
        response = await self.client.post("/v1/challenges", json=body)
        assert response.status_code == 201, response.text
        return response.json()["challenge_id"], self.mail.last_code()

    async def confirm(self, challenge_id: str, code: str) -> httpx.Response:
        return await self.client.post(f"/v1/challenges/{challenge_id}/confirm", json={"code": code})


@pytest.fixture
def login(client: httpx.AsyncClient, mail: FakeMailService) -> Login:
    return Login(client, mail)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"
