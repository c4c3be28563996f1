"""Shared bits of the Auth/Session unit tests: settings with their secret files, the login as a user does it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from galaxy.authsession.settings import Settings
from tests.unit.authsession.fakes import MAIL_TOKEN, USER_TOKEN, FakeMailService

SERVICE_TOKENS = {"gateway": "gateway-token", "lab": "lab-token"}
KID = "k-test-1"


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


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"
