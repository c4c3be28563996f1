"""Settings, catalog loading, the admin port (/healthz, /metrics) and the program's start and stop."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fakeredis
import httpx
import pytest
from pydantic import ValidationError

from galaxy.notification.domain.catalog import CatalogError, Templates
from galaxy.notification.domain.errors import Undeliverable
from galaxy.notification.domain.model import DeadReason
from galaxy.notification.main import Resources, start
from galaxy.notification.settings import Settings
from galaxy.notification.transport.stream import Consumer
from galaxy_contracts import streams
from tests.unit.notification.helpers import TOKEN, UserDouble, intent, sample, until, write

ROOT = Path(__file__).resolve().parents[3]


# --- settings ------------------------------------------------------------------------------------------


def test_settings_come_from_the_prefixed_environment(monkeypatch: pytest.MonkeyPatch, token_file: Path) -> None:
    env = {"USER_URL": "http://u:1", "USER_TOKEN_FILE": str(token_file), "ADMIN_PORT": "9051", "MAX_DELIVERIES": "7"}
    for name, value in env.items():
        monkeypatch.setenv(f"GALAXY_NOTIFICATION_{name}", value)

    settings = Settings()

    assert (settings.user_url, settings.admin_port, settings.max_deliveries) == ("http://u:1", 9051, 7)
    assert settings.port is None
    assert settings.consumer_name.endswith(f"-{os.getpid()}")


def test_the_dedupe_retention_must_outlive_redelivery(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValidationError, match=r"(?s)dedupe_ttl_seconds.*outlive"):
        make_settings(dedupe_ttl_seconds=10, max_deliveries=10, reclaim_min_idle_ms=1000)


def test_a_blocking_read_stays_under_the_redis_socket_timeout(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValidationError, match="block_ms"):
        make_settings(block_ms=2000)


# --- catalog --------------------------------------------------------------------------------------------


def _catalog(body: str) -> streams.Catalog:
    spec = {"params": [], "push": {"title": "t", "body": body}}
    return streams.Catalog.model_validate({"version": 1, "types": {"a.b": spec}})


def test_the_published_catalog_compiles() -> None:
    templates = Templates(streams.typed_catalog())
    assert all(templates.spec(name) for name in streams.typed_catalog().types)


def test_a_push_template_that_does_not_compile_stops_the_start() -> None:
    with pytest.raises(CatalogError, match=r"a\.b"):
        Templates(_catalog("{{ params.x "))


@pytest.mark.parametrize("body", ["{{ params.__class__.__mro__ }}", "{{ params.missing }}", "{{ nobody }}"])
def test_a_push_template_that_fails_on_the_params_is_a_render_failure(body: str) -> None:
    templates = Templates(_catalog(body))
    with pytest.raises(Undeliverable) as raised:
        templates.render_push("a.b", {"params": {"x": "1"}, "recipient": {}})
    assert raised.value.reason is DeadReason.RENDER_FAILED


def test_a_catalog_type_needs_a_channel_and_may_not_use_the_reserved_param() -> None:
    with pytest.raises(ValidationError, match="channel"):
        streams.CatalogType.model_validate({"params": []})
    with pytest.raises(ValidationError, match="reserved"):
        streams.CatalogType.model_validate({"params": ["recipient"], "email": {"template": "a.b"}})


# --- admin port and metrics ---------------------------------------------------------------------------------


async def test_metrics_report_pending_and_lag(
    make_consumer: Callable[..., Consumer], redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    consumer = make_consumer(batch=1)
    users.down = True
    for _ in range(3):
        await write(redis, intent("account.welcome", users.add()))

    await consumer.step()

    assert sample("galaxy_notification_pending") == 1
    assert sample("galaxy_notification_lag") == 2


@pytest.fixture
async def admin(settings: Settings, resources: Resources) -> Any:
    running = await start(settings, resources, admin_port=0)
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.admin_port}")
    yield running, client
    await client.aclose()
    if not running.admin_task.done():
        await running.stop(grace=2)


async def _healthz(client: httpx.AsyncClient) -> tuple[int, dict[str, str]]:
    response = await client.get("/healthz")
    return response.status_code, response.json()["checks"]


async def test_healthz_is_ready_once_the_consumer_loop_runs(admin: Any) -> None:
    _, client = admin
    await until(lambda: _healthz(client), (200, {"redis": "up", "consumer": "up"}))


async def test_healthz_names_redis_when_it_is_down(admin: Any, server: fakeredis.FakeServer) -> None:
    _, client = admin
    await until(lambda: _healthz(client), (200, {"redis": "up", "consumer": "up"}))
    server.connected = False
    status, checks = await _healthz(client)
    assert status == 503
    assert checks["redis"].startswith("down")


async def test_healthz_names_the_consumer_when_its_loop_ended(admin: Any) -> None:
    running, client = admin
    await until(lambda: _healthz(client), (200, {"redis": "up", "consumer": "up"}))
    running.consumer.stop()
    await running.loop_task

    status, checks = await _healthz(client)

    assert status == 503
    assert checks == {"redis": "up", "consumer": "down: ConsumerStopped"}


async def test_the_running_service_delivers_and_counts_it(
    admin: Any, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    _, client = admin
    before = sample("galaxy_notification_intents_total", outcome="delivered")
    await write(redis, intent("account.welcome", users.add()))

    await until(lambda: _metric(client, "galaxy_notification_intents_total", 'outcome="delivered"'), before + 1)
    await until(lambda: _metric(client, "galaxy_notification_entries_written_total", 'channel="email"'), _ANY)


async def test_stopping_ends_the_loop_and_the_admin_port(admin: Any) -> None:
    running, client = admin
    await until(lambda: _healthz(client), (200, {"redis": "up", "consumer": "up"}))

    await asyncio.wait_for(running.stop(grace=2), 5)

    assert running.loop_task.done()
    assert running.admin_task.done()
    with pytest.raises(httpx.ConnectError):
        await client.get("/healthz")


class _Any:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, float) and other >= 1


_ANY: Any = _Any()


async def _metric(client: httpx.AsyncClient, name: str, labels: str) -> float:
    text = (await client.get("/metrics")).text
    prefix = f"{name}{{{labels}}} "
    return next((float(line[len(prefix) :]) for line in text.splitlines() if line.startswith(prefix)), 0.0)


# --- the program ------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GALAXY_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return env | {f"GALAXY_NOTIFICATION_{name}": value for name, value in settings.items()}


PROGRAM = [sys.executable, "-c", "from galaxy.notification.main import main; main()"]


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"ADMIN_PORT": "1"}, "GALAXY_NOTIFICATION_USER_URL"),
        ({"USER_URL": "http://u", "USER_TOKEN_FILE": "/nonexistent/token", "ADMIN_PORT": "1"}, "USER_TOKEN_FILE"),
        ({"USER_URL": "http://u", "USER_TOKEN_FILE": "/dev/null", "ADMIN_PORT": "1", "BATCH": "0"}, "BATCH"),
    ],
    ids=["missing-setting", "unreadable-token", "invalid-number"],
)
def test_bad_configuration_exits_1_with_one_line(settings: dict[str, str], named: str) -> None:
    done = subprocess.run(PROGRAM, env=_env(**settings), capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert named in lines[0]
    assert "Traceback" not in lines[0]


@pytest.fixture
def program(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    token = tmp_path / "user.token"
    token.write_text(TOKEN)
    admin_port = _free_port()
    env = _env(
        USER_URL="http://127.0.0.1:9",
        USER_TOKEN_FILE=str(token),
        ADMIN_PORT=str(admin_port),
        REDIS_URL=f"redis://127.0.0.1:{_free_port()}/0",  # nothing listens: the loop waits, healthz says why
    )
    process = subprocess.Popen(PROGRAM, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield process, admin_port
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


async def test_the_program_reports_redis_down_and_exits_0_on_sigterm(program: tuple[Any, int]) -> None:
    process, admin_port = program

    async def healthz() -> object:
        try:
            async with httpx.AsyncClient() as client:
                response = await client.get(f"http://127.0.0.1:{admin_port}/healthz")
        except httpx.TransportError:
            return None
        return response.status_code, response.json()["checks"]["redis"].split(":")[0]

    await until(healthz, (503, "down"), within=15)
    process.send_signal(signal.SIGTERM)
    assert await asyncio.to_thread(process.wait, 15) == 0
