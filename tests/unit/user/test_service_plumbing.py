"""Admin port, metrics, settings, startup errors and shutdown of User Service."""

from __future__ import annotations

from pathlib import Path

import fakeredis
import httpx
import pytest
from starlette.applications import Starlette

from galaxy.common.settings import ConfigError
from galaxy.user.main import create_admin, create_app
from galaxy.user.settings import Settings
from tests.unit.common.ports import closed_port, listening
from tests.unit.user.helpers import AUTH


async def admin_get(settings: Settings, redis: fakeredis.FakeAsyncRedis, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_admin(settings, redis))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as admin:
        return await admin.get(path)


async def test_healthz_is_ready_when_redis_and_the_main_port_are_up(
    settings: Settings, redis: fakeredis.FakeAsyncRedis
) -> None:
    with listening() as port:
        response = await admin_get(settings.model_copy(update={"port": port}), redis, "/healthz")

    assert response.status_code == 200
    assert response.json() == {"service": "user", "status": "ready", "checks": {"redis": "up", "listener": "up"}}


async def test_healthz_is_503_while_the_main_port_is_not_listening(
    settings: Settings, redis: fakeredis.FakeAsyncRedis
) -> None:
    response = await admin_get(settings.model_copy(update={"port": closed_port()}), redis, "/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "up"
    assert response.json()["checks"]["listener"].startswith("down")


async def test_healthz_is_503_when_redis_is_down(
    settings: Settings, redis: fakeredis.FakeAsyncRedis, server: fakeredis.FakeServer
) -> None:
    server.connected = False

    with listening() as port:
        response = await admin_get(settings.model_copy(update={"port": port}), redis, "/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("down")


async def test_metrics_count_the_service_requests(
    client: httpx.AsyncClient, settings: Settings, redis: fakeredis.FakeAsyncRedis
) -> None:
    def teapots(text: str) -> float:
        line = 'galaxy_http_requests_total{method="DELETE",service="user",status="405"}'
        return next((float(row.split()[-1]) for row in text.splitlines() if row.startswith(line)), 0.0)

    before = teapots((await admin_get(settings, redis, "/metrics")).text)
    await client.delete("/v1/accounts/resolve")
    after = (await admin_get(settings, redis, "/metrics")).text

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


def test_a_missing_tokens_file_fails_at_start_naming_its_variable(settings: Settings) -> None:
    settings.service_tokens_file.unlink()

    with pytest.raises(ConfigError, match="GALAXY_USER_SERVICE_TOKENS_FILE"):
        create_app(settings, fakeredis.FakeAsyncRedis())


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
