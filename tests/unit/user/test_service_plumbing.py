"""Admin port, metrics, settings, startup errors and shutdown of User Service."""

from __future__ import annotations

from pathlib import Path

import fakeredis
import httpx
import pytest
from starlette.applications import Starlette

from galaxy.common import logs
from galaxy.user import main as user_main
from galaxy.user.main import create_admin_app, create_app
from galaxy.user.settings import Settings
from tests.unit.user.helpers import AUTH


async def admin_get(redis: fakeredis.FakeAsyncRedis, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_admin_app(redis))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as admin:
        return await admin.get(path)


async def test_healthz_is_ready_when_redis_answers(redis: fakeredis.FakeAsyncRedis) -> None:
    response = await admin_get(redis, "/healthz")

    assert response.status_code == 200
    assert response.json() == {"service": "user", "status": "ready", "checks": {"redis": "up"}}


async def test_healthz_is_503_when_redis_is_down(redis: fakeredis.FakeAsyncRedis, server: fakeredis.FakeServer) -> None:
    server.connected = False

    response = await admin_get(redis, "/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("down")


async def test_metrics_count_the_service_requests(client: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis) -> None:
    def teapots(text: str) -> float:
        line = 'galaxy_http_requests_total{method="DELETE",service="user",status="405"}'
        return next((float(row.split()[-1]) for row in text.splitlines() if row.startswith(line)), 0.0)

    before = teapots((await admin_get(redis, "/metrics")).text)
    await client.delete("/v1/accounts/resolve")
    after = (await admin_get(redis, "/metrics")).text

    assert teapots(after) == before + 1
    assert 'galaxy_http_request_seconds_count{method="DELETE",service="user"}' in after


def test_settings_are_read_from_galaxy_user_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {
        "LISTEN_HOST": "127.0.0.2",
        "PORT": "21130",
        "ADMIN_PORT": "21131",
        "REDIS_URL": "redis://127.0.0.1:21100/0",
        "LOG_LEVEL": "DEBUG",
        "SERVICE_TOKENS_FILE": str(tmp_path / "tokens.json"),
    }.items():
        monkeypatch.setenv(f"GALAXY_USER_{name}", value)

    settings = Settings()

    assert (settings.listen_host, settings.port, settings.admin_port) == ("127.0.0.2", 21130, 21131)
    assert settings.redis_url == "redis://127.0.0.1:21100/0"
    assert settings.log_level == "DEBUG"
    assert settings.service_tokens_file == tmp_path / "tokens.json"


def test_bad_settings_stop_the_program_without_echoing_values(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GALAXY_USER_PORT", "not-a-port")
    monkeypatch.setenv("GALAXY_USER_REDIS_URL", "redis://:hunter2-redis-password@127.0.0.1:1/0")
    monkeypatch.delenv("GALAXY_USER_SERVICE_TOKENS_FILE", raising=False)

    with pytest.raises(SystemExit) as stopped:
        user_main.main()

    message = str(stopped.value.code)
    assert "port" in message
    assert "service_tokens_file" in message
    assert "hunter2" not in message + capsys.readouterr().out


def test_an_unreadable_tokens_file_stops_the_program(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(logs, "setup", lambda *_: None)  # keep pytest's own log capture in place
    monkeypatch.setenv("GALAXY_USER_PORT", "21130")
    monkeypatch.setenv("GALAXY_USER_ADMIN_PORT", "21131")
    monkeypatch.setenv("GALAXY_USER_SERVICE_TOKENS_FILE", str(tmp_path / "missing.json"))

    with pytest.raises(SystemExit) as stopped:
        user_main.main()

    assert "cannot start" in str(stopped.value.code)


@pytest.mark.parametrize("content", ["[]", '{"lab": ""}', "not json"])
def test_a_malformed_tokens_file_is_refused(settings: Settings, content: str) -> None:
    settings.service_tokens_file.write_text(content)

    with pytest.raises(ValueError):  # noqa: PT011 - json and our own check both raise ValueError
        create_app(settings, fakeredis.FakeAsyncRedis())


async def test_shutdown_closes_redis(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    closed: list[bool] = []
    original = redis.aclose

    async def spy_close(*args: object, **kwargs: object) -> None:
        closed.append(True)
        await original()

    monkeypatch.setattr(redis, "aclose", spy_close)
    app: Starlette = create_app(settings, redis)
    transport = httpx.ASGITransport(app=app)

    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://u") as client:
        response = await client.post("/v1/accounts/resolve", json={"email": "life@example.com"}, headers=AUTH)
        assert response.status_code == 200
        assert closed == []

    assert closed == [True]
