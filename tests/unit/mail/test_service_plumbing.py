"""Admin port, metrics, settings, start-up errors and shutdown of Mail Service."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import fakeredis
import httpx
import pytest
from pydantic import ValidationError

from galaxy.common.settings import ConfigError
from galaxy.mail.main import Mail, compose, create_admin
from galaxy.mail.settings import Settings
from tests.harness.waits import eventually
from tests.unit.common.ports import closed_port, listening
from tests.unit.mail.conftest import write_settings
from tests.unit.mail.helpers import OPERATOR_TOKEN, TOKENS, post_delivery, until_status
from tests.unit.mail.smtp import Sink


async def admin_get(
    settings: Settings, redis: fakeredis.FakeAsyncRedis, path: str, mail: Mail | None = None
) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_admin(settings, redis, mail))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as admin:
        return await admin.get(path)


async def test_healthz_is_ready_when_redis_listener_and_workers_are_up(
    settings: Settings, redis: fakeredis.FakeAsyncRedis
) -> None:
    mail = compose(settings, redis)
    await mail.start()
    try:
        with listening() as port:
            response = await admin_get(settings.model_copy(update={"port": port}), redis, "/healthz", mail)
    finally:
        await mail.stop()

    assert response.status_code == 200
    assert response.json() == {
        "service": "mail",
        "status": "ready",
        "checks": {"redis": "up", "listener": "up", "workers": "up"},
    }


async def test_healthz_names_redis_when_it_is_down(
    settings: Settings, redis: fakeredis.FakeAsyncRedis, server: fakeredis.FakeServer
) -> None:
    server.connected = False
    with listening() as port:
        response = await admin_get(settings.model_copy(update={"port": port}), redis, "/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("down")
    assert response.json()["checks"]["listener"] == "up"


async def test_healthz_names_the_listener_and_stopped_workers(
    settings: Settings, redis: fakeredis.FakeAsyncRedis
) -> None:
    mail = compose(settings, redis)  # background work never started
    response = await admin_get(settings.model_copy(update={"port": closed_port()}), redis, "/healthz", mail)

    assert response.status_code == 503
    assert response.json()["checks"]["listener"].startswith("down")
    assert response.json()["checks"]["workers"].startswith("down")


def _sample(text: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


async def test_metrics_count_sent_retried_failed_and_show_the_queue(
    smtp_client: httpx.AsyncClient, sink: Sink, smtp_settings: Settings, redis: fakeredis.FakeAsyncRedis
) -> None:
    names = [
        "galaxy_mail_sent_total",
        "galaxy_mail_retried_total",
        "galaxy_mail_failed_total",
        "galaxy_mail_dead_lettered_total",
    ]
    before = (await admin_get(smtp_settings, redis, "/metrics")).text
    sink.script = ["451 later", "550 unknown user"]
    first = (await post_delivery(smtp_client, "metrics-1")).json()["delivery_id"]
    await until_status(smtp_client, first, "failed")
    second = (await post_delivery(smtp_client, "metrics-2")).json()["delivery_id"]
    await until_status(smtp_client, second, "sent")

    after = (await admin_get(smtp_settings, redis, "/metrics")).text

    assert [_sample(after, n) - _sample(before, n) for n in names] == [1, 1, 1, 1]
    for gauge in ("galaxy_mail_queue_depth", "galaxy_mail_due_retries", "galaxy_mail_in_flight"):
        assert f"\n{gauge} " in after


def test_settings_are_read_from_galaxy_mail_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {
        "PORT": "21140",
        "ADMIN_PORT": "21141",
        "REDIS_URL": "redis://127.0.0.1:21100/0",
        "SERVICE_TOKENS_FILE": str(tmp_path / "tokens.json"),
        "OPERATOR_TOKEN_FILE": str(tmp_path / "operator.token"),
        "PROVIDER": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": "21180",
        "SMTP_STARTTLS": "true",
        "SMTP_USERNAME": "galaxy",
        "SMTP_PASSWORD_FILE": str(tmp_path / "smtp.password"),
        "SMTP_TIMEOUT_SECONDS": "5",
        "RETRY_SCHEDULE_SECONDS": "1, 2,4",
        "DELIVERY_LIFETIME_SECONDS": "60",
        "FROM_ADDRESS": "Lab <mail@lab.example>",
    }.items():
        monkeypatch.setenv(f"GALAXY_MAIL_{name}", value)

    settings = Settings()

    assert (settings.port, settings.admin_port, settings.provider) == (21140, 21141, "smtp")
    assert (settings.smtp_port, settings.smtp_starttls, settings.smtp_username) == (21180, True, "galaxy")
    assert settings.retry_schedule_seconds == (1.0, 2.0, 4.0)
    assert settings.delivery_lifetime_seconds == 60
    assert settings.sender_domain == "lab.example"
    assert settings.instance_name.endswith("-21140")


def test_production_defaults_follow_rfc_5321(tmp_path: Path) -> None:
    settings = Settings(port=1, admin_port=2, service_tokens_file=tmp_path / "t", operator_token_file=tmp_path / "o")

    assert settings.retry_schedule_seconds[0] >= 30 * 60
    assert settings.delivery_lifetime_seconds >= 4 * 24 * 3600


@pytest.mark.parametrize(
    "overrides",
    [
        {"retry_schedule_seconds": "1,0"},
        {"retry_schedule_seconds": ""},
        {"smtp_username": "u"},
        {"from_address": "not an address"},
        {"lease_seconds": 1.0, "smtp_timeout_seconds": 1.0},
        {"provider": "sendmail"},
    ],
)
def test_inconsistent_settings_are_refused(tmp_path: Path, overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        write_settings(tmp_path, **overrides)


@pytest.mark.parametrize(
    ("setting", "variable"),
    [
        ("operator_token_file", "GALAXY_MAIL_OPERATOR_TOKEN_FILE"),
        ("service_tokens_file", "GALAXY_MAIL_SERVICE_TOKENS_FILE"),
    ],
)
def test_a_missing_secret_fails_at_start_naming_its_variable(settings: Settings, setting: str, variable: str) -> None:
    getattr(settings, setting).unlink()

    with pytest.raises(ConfigError, match=variable):
        compose(settings, fakeredis.FakeAsyncRedis())


def test_a_missing_smtp_password_file_fails_at_start(tmp_path: Path) -> None:
    settings = write_settings(tmp_path, provider="smtp", smtp_username="u", smtp_password_file=tmp_path / "nope")

    with pytest.raises(ConfigError, match="GALAXY_MAIL_SMTP_PASSWORD_FILE"):
        compose(settings, fakeredis.FakeAsyncRedis())


# --- the program -----------------------------------------------------------------------------------


def environment(directory: Path, **overrides: str) -> dict[str, str]:
    (directory / "tokens.json").write_text('{{"lab": "{}"}}'.format(TOKENS["lab"]))
    (directory / "operator.token").write_text(OPERATOR_TOKEN)
    values = {
        "PORT": str(closed_port()),
        "ADMIN_PORT": str(closed_port()),
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "SERVICE_TOKENS_FILE": str(directory / "tokens.json"),
        "OPERATOR_TOKEN_FILE": str(directory / "operator.token"),
        "PROVIDER": "stub",
        **overrides,
    }
    base = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "HOME": str(directory)}
    return base | {f"GALAXY_MAIL_{k}": v for k, v in values.items()}


def launch(env: dict[str, str]) -> subprocess.Popen[str]:
    code = "from galaxy.mail.main import main; main()"
    env = env | {"PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_bad_configuration_is_one_line_and_exit_1(tmp_path: Path) -> None:
    process = launch(environment(tmp_path, RETRY_SCHEDULE_SECONDS="soon", OPERATOR_TOKEN_FILE="/nonexistent"))
    output, _ = process.communicate(timeout=20)

    assert process.returncode == 1
    assert len(output.strip().splitlines()) == 1, output
    assert "GALAXY_MAIL_RETRY_SCHEDULE_SECONDS" in output
    assert "Traceback" not in output


def test_sigterm_stops_it_cleanly(tmp_path: Path) -> None:
    env = environment(tmp_path)
    process = launch(env)
    try:
        admin = f"http://127.0.0.1:{env['GALAXY_MAIL_ADMIN_PORT']}/healthz"

        def answers() -> None:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                response = httpx.get(admin, timeout=1)
            except httpx.TransportError as exc:
                raise AssertionError(str(exc)) from exc
            assert response.json()["checks"]["listener"] == "up"
            assert response.json()["checks"]["workers"] == "up"

        eventually(answers, within=20, what="the admin port answering")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, output
    assert OPERATOR_TOKEN not in output
