"""Settings, admin port, metrics, logs and storage outages."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import fakeredis
import httpx
import pytest
import redis.asyncio as aioredis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client import REGISTRY

from galaxy.authsession.main import create_admin, create_app
from galaxy.authsession.settings import Settings
from galaxy.common.logs import JsonFormatter
from galaxy.common.redis import connect
from galaxy.common.settings import ConfigError
from tests.unit.authsession.fakes import FakeMailService, FakeUserService
from tests.unit.authsession.helpers import SERVICE_TOKENS, Login, wrong
from tests.unit.common.ports import closed_port, listening


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_settings_come_from_the_environment_with_documented_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in {
        "PORT": "21120",
        "ADMIN_PORT": "21121",
        "REDIS_URL": "redis://127.0.0.1:21100/0",
        "SERVICE_TOKENS_FILE": str(tmp_path / "t.json"),
        "USER_URL": "http://127.0.0.1:21130",
        "USER_TOKEN_FILE": str(tmp_path / "u"),
        "MAIL_URL": "http://127.0.0.1:21140",
        "MAIL_TOKEN_FILE": str(tmp_path / "m"),
        "SIGNING_KEY_FILE": str(tmp_path / "k.pem"),
        "SIGNING_KID": "kid-7",
    }.items():
        monkeypatch.setenv(f"GALAXY_AUTHSESSION_{name}", value)
    settings = Settings()
    assert (settings.port, settings.admin_port, settings.signing_kid) == (21120, 21121, "kid-7")
    assert settings.token_audience == "galaxy-gateway"
    assert (settings.session_ttl_seconds, settings.challenge_ttl_seconds) == (3600, 600)
    assert (settings.challenge_max_attempts, settings.downstream_timeout_seconds) == (5, 2.0)
    assert settings.log_level == "INFO"


@pytest.mark.parametrize(
    ("setting", "variable"),
    [
        ("user_token_file", "GALAXY_AUTHSESSION_USER_TOKEN_FILE"),
        ("signing_key_file", "GALAXY_AUTHSESSION_SIGNING_KEY_FILE"),
        ("service_tokens_file", "GALAXY_AUTHSESSION_SERVICE_TOKENS_FILE"),
    ],
)
def test_a_missing_secret_file_fails_at_start_naming_its_variable(
    settings: Settings, redis: fakeredis.FakeAsyncRedis, setting: str, variable: str
) -> None:
    path: Path = getattr(settings, setting)
    path.unlink()

    with pytest.raises(ConfigError, match=variable):
        create_app(settings, redis)


async def admin_get(settings: Settings, redis: aioredis.Redis, path: str = "/healthz") -> httpx.Response:
    transport = httpx.ASGITransport(create_admin(settings, redis))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as admin:
        return await admin.get(path)


async def test_healthz_is_ready_when_redis_and_the_main_port_are_up(
    settings: Settings, redis: fakeredis.FakeAsyncRedis
) -> None:
    with listening() as port:
        ready = await admin_get(settings.model_copy(update={"port": port}), redis)

    assert ready.status_code == 200
    assert ready.json()["checks"] == {"redis": "up", "listener": "up"}


async def test_healthz_is_503_while_the_main_port_is_not_listening(
    settings: Settings, redis: fakeredis.FakeAsyncRedis
) -> None:
    response = await admin_get(settings.model_copy(update={"port": closed_port()}), redis)

    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "up"
    assert response.json()["checks"]["listener"].startswith("down")


async def test_healthz_is_503_when_redis_is_down(settings: Settings) -> None:
    down = connect("redis://127.0.0.1:1/0")
    with listening() as port:
        response = await admin_get(settings.model_copy(update={"port": port}), down)
    await down.aclose()

    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("down")


async def test_redis_down_answers_503_problem(
    settings: Settings, users: FakeUserService, mail: FakeMailService
) -> None:
    down = create_app(
        settings,
        connect("redis://127.0.0.1:1/0"),
        user_transport=users.transport(),
        mail_transport=mail.transport(),
    )
    headers = {"Authorization": f"Bearer {SERVICE_TOKENS['lab']}"}
    async with (
        down.router.lifespan_context(down),
        httpx.AsyncClient(transport=httpx.ASGITransport(down), base_url="http://a", headers=headers) as client,
    ):
        response = await client.post("/v1/challenges", json={"email": "ada@example.com"})
    assert response.status_code == 503
    assert response.json()["code"] == "upstream_unavailable"
    assert mail.sent == []


async def test_shutdown_closes_redis(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    closed: list[bool] = []

    async def spy_close() -> None:
        closed.append(True)

    monkeypatch.setattr(redis, "aclose", spy_close)
    app = create_app(settings, redis)

    async with app.router.lifespan_context(app):
        assert closed == []

    assert closed == [True]


async def test_metrics_count_started_confirmed_and_failed(
    login: Login, settings: Settings, redis: fakeredis.FakeAsyncRedis
) -> None:
    before = {
        "started": metric("galaxy_authsession_challenges_started_total"),
        "confirmed": metric("galaxy_authsession_challenges_confirmed_total"),
        "failed": metric("galaxy_authsession_challenges_failed_total", reason="invalid_code"),
    }
    challenge_id, code = await login.start()
    await login.confirm(challenge_id, wrong(code))
    await login.confirm(challenge_id, code)
    assert metric("galaxy_authsession_challenges_started_total") == before["started"] + 1
    assert metric("galaxy_authsession_challenges_confirmed_total") == before["confirmed"] + 1
    assert metric("galaxy_authsession_challenges_failed_total", reason="invalid_code") == before["failed"] + 1
    text = (await admin_get(settings, redis, "/metrics")).text
    assert "galaxy_authsession_challenges_started_total" in text
    assert 'galaxy_http_requests_total{method="POST",service="authsession",status="201"}' in text


async def test_logs_name_challenges_but_never_codes_tokens_or_keys(
    login: Login, caplog: pytest.LogCaptureFixture, signing_key: Ed25519PrivateKey, users: FakeUserService
) -> None:
    caplog.set_level(logging.DEBUG)
    challenge_id, code = await login.start()
    await login.confirm(challenge_id, wrong(code))
    users.down = True
    await login.confirm(challenge_id, code)
    users.down = False
    token = (await login.confirm(challenge_id, code)).json()["session_token"]
    formatter = JsonFormatter("authsession")
    lines = [formatter.format(record) for record in caplog.records]
    assert any(json.loads(line).get("challenge_id") == challenge_id for line in lines)
    text = "\n".join(lines)
    assert not re.search(rf"(?<![0-9]){code}(?![0-9])", text)
    for secret in (token, token.split(".")[2], *SERVICE_TOKENS.values()):
        assert secret not in text
