"""The stub over real TCP (uvicorn in this process; one console-script run): what ASGI alone cannot show."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from galaxy.common.serve import uvicorn_server
from galaxy_contracts.http import Unavailable, UserClient
from galaxylab.stubs.main import create_admin, create_app
from galaxylab.stubs.settings import Settings
from tests.harness.waits import eventually, until_async
from tests.unit.programs import child_environment
from tests.unit.stubs.helpers import OPERATOR_TOKEN, TOKENS

DEADLINE_SECONDS = 30.0  # a deadline, not a wait: a loaded 2-core host needs seconds to start Python


async def _until(probe: Callable[[], object], what: str) -> None:
    async def check() -> object:
        return probe()

    await until_async(check, within=DEADLINE_SECONDS, what=what, interval=0.01)


@pytest.fixture
async def user_url() -> AsyncIterator[str]:
    server = uvicorn_server(create_app("user", TOKENS), "127.0.0.1", 0)
    task = asyncio.create_task(server.serve())
    await _until(lambda: server.started or task.done(), "uvicorn started")
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, DEADLINE_SECONDS)


def control(url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {TOKENS['lab']}"})


async def test_reset_mode_drops_the_connection_without_an_answer(user_url: str) -> None:
    async with control(user_url) as lab, UserClient(user_url, TOKENS["authsession"]) as users:
        await lab.post("/_control/down", json={"mode": "reset"})
        with pytest.raises(Unavailable) as dropped:
            await users.resolve("ada@example.com")
        await lab.post("/_control/up")
        after = await users.resolve("ada@example.com")

    assert dropped.value.reason in {"ReadError", "RemoteProtocolError"}
    assert after.created is True


async def test_a_delay_longer_than_the_callers_timeout_is_a_hang(
    user_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="galaxylab.stubs")
    spec = {"method": "POST", "path": "/v1/accounts/resolve", "status": 200, "body": {}, "delay_seconds": 30}
    async with control(user_url) as lab, UserClient(user_url, TOKENS["authsession"], timeout=0.3) as users:
        await lab.post("/_control/responses", json=spec)
        with pytest.raises(Unavailable) as hung:
            await users.resolve("ada@example.com")
        await _until(lambda: "caller left during a scripted delay" in caplog.text, "the stub noticed the caller left")
        after = await users.resolve("ada@example.com")
        recorded = (await lab.get("/_control/requests")).json()["requests"]

    assert hung.value.reason == "timed out"
    assert after.created is True
    assert [r["status"] for r in recorded] == [None, 200]


async def test_healthz_is_ready_only_while_the_main_port_listens(user_url: str) -> None:
    port = int(user_url.rsplit(":", 1)[1])
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]

    up = await _healthz(create_admin(_settings(port)))
    down = await _healthz(create_admin(_settings(closed_port)))

    assert (up.status_code, up.json()["checks"]) == (200, {"listener": "up"})
    assert down.status_code == 503


def _settings(port: int) -> Settings:
    return Settings(kind="user", port=port, admin_port=1, service_tokens_file=Path("/nonexistent"))


async def _healthz(admin: object) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=admin), base_url="http://admin") as client:  # type: ignore[arg-type]
        return await client.get("/healthz")


# --- the console script ---------------------------------------------------------------------


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _stub_process(env: dict[str, str]) -> subprocess.Popen[str]:
    code = "from galaxylab.stubs.main import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=child_environment(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _secret_files(directory: Path) -> dict[str, str]:
    """The boundary's tokens file and operator token, as the lab places them, by their variables."""
    tokens_file = directory / "service-tokens.json"
    tokens_file.write_text(json.dumps(TOKENS))
    operator_file = directory / "operator.token"
    operator_file.write_text(OPERATOR_TOKEN + "\n")
    return {
        "GALAXYLAB_STUB_SERVICE_TOKENS_FILE": str(tokens_file),
        "GALAXYLAB_STUB_OPERATOR_TOKEN_FILE": str(operator_file),
    }


def test_galaxylab_stub_serves_and_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    port, admin_port = _free_ports(2)
    process = _stub_process(
        {
            "GALAXYLAB_STUB_KIND": "mail",
            "GALAXYLAB_STUB_PORT": str(port),
            "GALAXYLAB_STUB_ADMIN_PORT": str(admin_port),
            **_secret_files(tmp_path),
        }
    )
    operator = f"http://127.0.0.1:{port}/v1/operator/deliveries"
    try:
        _wait_ready(f"http://127.0.0.1:{admin_port}/healthz", process)
        sent = httpx.post(
            f"http://127.0.0.1:{port}/v1/deliveries",
            json={
                "to": "ada@example.com",
                "template": "auth.login_code",
                "params": {"code": "123456", "expires_in_minutes": 10},
            },
            headers={"Authorization": f"Bearer {TOKENS['authsession']}", "Idempotency-Key": "key-00000001"},
        )
        listed = httpx.get(operator, headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
        refused = httpx.get(operator, headers={"Authorization": f"Bearer {TOKENS['lab']}"})
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=DEADLINE_SECONDS)
    finally:
        process.kill()
        process.wait()

    assert sent.status_code == 202
    assert [d["delivery_id"] for d in listed.json()["deliveries"]] == [sent.json()["delivery_id"]]
    assert refused.status_code == 403
    assert process.returncode == 0, output
    lines = [json.loads(line) for line in output.splitlines()]
    assert {line["service"] for line in lines} == {"mail-stub"}
    assert any(line["msg"] == "Application shutdown complete." for line in lines)
    assert not any(token in output for token in [*TOKENS.values(), OPERATOR_TOKEN])


def _wait_ready(url: str, process: subprocess.Popen[str]) -> None:
    def ready() -> None:
        assert process.poll() is None, "the stub exited early"
        assert httpx.get(url, timeout=0.5).status_code == 200, f"{url} not ready"

    eventually(ready, within=DEADLINE_SECONDS, what=url, retry_on=(AssertionError, httpx.TransportError))


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        (
            {"GALAXYLAB_STUB_KIND": "sms", "GALAXYLAB_STUB_PORT": "1", "GALAXYLAB_STUB_ADMIN_PORT": "2"},
            "GALAXYLAB_STUB_KIND",
        ),
        ({"GALAXYLAB_STUB_KIND": "user", "GALAXYLAB_STUB_ADMIN_PORT": "2"}, "GALAXYLAB_STUB_PORT"),
        (
            {
                "GALAXYLAB_STUB_KIND": "user",
                "GALAXYLAB_STUB_PORT": "1",
                "GALAXYLAB_STUB_ADMIN_PORT": "2",
                "GALAXYLAB_STUB_SERVICE_TOKENS_FILE": "/nonexistent/service-tokens.json",
            },
            "GALAXYLAB_STUB_SERVICE_TOKENS_FILE: cannot read /nonexistent/service-tokens.json",
        ),
    ],
    ids=["bad-kind", "missing-port", "unreadable-tokens"],
)
def test_bad_configuration_exits_with_one_line_not_a_traceback(env: dict[str, str], complaint: str) -> None:
    assert_refused(_stub_process({"GALAXYLAB_STUB_SERVICE_TOKENS_FILE": "/dev/null"} | env), complaint)


def test_tokens_without_a_lab_entry_are_refused_naming_the_file(tmp_path: Path) -> None:
    tokens_file = tmp_path / "service-tokens.json"
    tokens_file.write_text(json.dumps({"authsession": TOKENS["authsession"]}))
    port, admin_port = _free_ports(2)
    env = {
        "GALAXYLAB_STUB_KIND": "user",
        "GALAXYLAB_STUB_PORT": str(port),
        "GALAXYLAB_STUB_ADMIN_PORT": str(admin_port),
        "GALAXYLAB_STUB_SERVICE_TOKENS_FILE": str(tokens_file),
    }

    output = assert_refused(_stub_process(env), "GALAXYLAB_STUB_SERVICE_TOKENS_FILE")

    assert "'lab' entry" in output
    assert TOKENS["authsession"] not in output


def test_a_taken_port_is_one_line_naming_it(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        [admin_port] = _free_ports(1)
        env = {
            "GALAXYLAB_STUB_KIND": "mail",
            "GALAXYLAB_STUB_PORT": str(port),
            "GALAXYLAB_STUB_ADMIN_PORT": str(admin_port),
            **_secret_files(tmp_path),
        }

        assert_refused(_stub_process(env), f"cannot listen for HTTP on 127.0.0.1:{port}")


@pytest.mark.parametrize("operator_file", [None, "/nonexistent/operator.token", "empty"])
def test_the_mail_stub_needs_a_readable_operator_token(tmp_path: Path, operator_file: str | None) -> None:
    """As Mail Service does: the operator surface cannot be served without its credential."""
    port, admin_port = _free_ports(2)
    env = {
        "GALAXYLAB_STUB_KIND": "mail",
        "GALAXYLAB_STUB_PORT": str(port),
        "GALAXYLAB_STUB_ADMIN_PORT": str(admin_port),
        **_secret_files(tmp_path),
    }
    if operator_file is None:
        del env["GALAXYLAB_STUB_OPERATOR_TOKEN_FILE"]
    elif operator_file == "empty":
        (tmp_path / "operator.token").write_text("\n")
    else:
        env["GALAXYLAB_STUB_OPERATOR_TOKEN_FILE"] = operator_file

    output = assert_refused(_stub_process(env), "GALAXYLAB_STUB_OPERATOR_TOKEN_FILE")

    assert not any(token in output for token in TOKENS.values())


def assert_refused(process: subprocess.Popen[str], complaint: str) -> str:
    """The stub exited 1 with one refusal line (the same as every service's) naming ``complaint``."""
    output, _ = process.communicate(timeout=DEADLINE_SECONDS)
    refusals = [line for line in output.splitlines() if "galaxylab-stub cannot start: " in line]

    assert process.returncode == 1, output
    assert len(refusals) == 1, output
    assert complaint in refusals[0]
    assert "Traceback" not in output
    return output
