"""``galaxylab-smtp-sink`` as a process: ready on its banner, exit 0 on SIGTERM, one line and exit 1 on bad config."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness.waits import eventually
from tests.unit.sink.running import HOST, TOKENS

DEADLINE_SECONDS = 10.0
PREFIX = "GALAXYLAB_SINK_"


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind((HOST, 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def start(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from galaxylab.sink.main import main; main()"],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.environ.get("PYTHONPATH", "")} | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def tokens_file(tmp_path: Path) -> Path:
    path = tmp_path / "service-tokens.json"
    path.write_text(json.dumps(TOKENS))
    return path


@pytest.fixture
def settings(tokens_file: Path) -> dict[str, str]:
    port, api_port = free_ports(2)
    return {
        f"{PREFIX}PORT": str(port),
        f"{PREFIX}API_PORT": str(api_port),
        f"{PREFIX}SERVICE_TOKENS_FILE": str(tokens_file),
    }


@pytest.fixture
def process(settings: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    running = start(settings)
    yield running
    if running.poll() is None:
        running.kill()
        running.communicate()


def banner(port: int, process: subprocess.Popen[str]) -> None:
    """The lab's readiness: a 220 banner on the SMTP port."""

    def greets() -> None:
        assert process.poll() is None, "the sink exited early"
        with socket.create_connection((HOST, port), timeout=1) as sock:
            assert sock.recv(512).startswith(b"220 "), "no 220 banner"

    eventually(greets, within=DEADLINE_SECONDS, what="the SMTP banner", retry_on=(AssertionError, OSError))


def test_it_serves_smtp_and_the_api_and_stops_cleanly_on_sigterm(
    process: subprocess.Popen[str], settings: dict[str, str]
) -> None:
    port, api_port = int(settings[f"{PREFIX}PORT"]), int(settings[f"{PREFIX}API_PORT"])
    banner(port, process)
    with smtplib.SMTP(HOST, port, timeout=DEADLINE_SECONDS) as client:
        client.sendmail("galaxy@example.com", ["ada@example.com"], b"Subject: hi\r\n\r\nhello\r\n")
    lab = {"Authorization": f"Bearer {TOKENS['lab']}"}
    found = httpx.get(f"http://{HOST}:{api_port}/api/v1/messages", headers=lab, timeout=DEADLINE_SECONDS)
    health = httpx.get(f"http://{HOST}:{api_port}/healthz", timeout=DEADLINE_SECONDS)

    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=DEADLINE_SECONDS)

    assert [m["subject"] for m in found.json()["messages"]] == ["hi"]
    assert health.status_code == 200
    assert process.returncode == 0
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert {line["service"] for line in lines} == {"smtp-sink"}
    assert lines[-1]["msg"] == "galaxylab-smtp-sink stopped"
    assert stderr == ""
    assert not any(token in stdout for token in TOKENS.values())


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({f"{PREFIX}PORT": None}, "GALAXYLAB_SINK_PORT: Field required"),
        ({f"{PREFIX}API_PORT": "0"}, "GALAXYLAB_SINK_API_PORT"),
        ({f"{PREFIX}MAX_MESSAGES": "0"}, "GALAXYLAB_SINK_MAX_MESSAGES"),
        ({f"{PREFIX}MAX_MESSAGE_BYTES": "lots"}, "GALAXYLAB_SINK_MAX_MESSAGE_BYTES"),
        ({f"{PREFIX}LOG_LEVEL": "CHATTY"}, "GALAXYLAB_SINK_LOG_LEVEL"),
        ({f"{PREFIX}SERVICE_TOKENS_FILE": "/nonexistent/tokens.json"}, "GALAXYLAB_SINK_SERVICE_TOKENS_FILE"),
    ],
)
def test_bad_settings_exit_1_with_one_line(
    settings: dict[str, str], change: dict[str, str | None], complaint: str
) -> None:
    env = {k: v for k, v in (settings | change).items() if v is not None}

    failed = start(env)
    stdout, stderr = failed.communicate(timeout=DEADLINE_SECONDS)

    assert failed.returncode == 1
    assert stdout == ""
    assert len(stderr.splitlines()) == 1
    assert stderr.startswith("galaxylab-smtp-sink cannot start")
    assert complaint in stderr


@pytest.mark.parametrize(
    ("content", "complaint"),
    [('{"gateway": "tok"}', "'lab' entry"), ("not json", "is not JSON"), ('{"lab": ""}', "non-empty strings")],
)
def test_a_tokens_file_without_a_lab_token_exits_1_without_quoting_it(
    settings: dict[str, str], tokens_file: Path, content: str, complaint: str
) -> None:
    tokens_file.write_text(content)

    failed = start(settings)
    _, stderr = failed.communicate(timeout=DEADLINE_SECONDS)

    assert failed.returncode == 1
    assert len(stderr.splitlines()) == 1
    assert complaint in stderr
    assert "tok" not in stderr.replace("tokens", "")


@pytest.mark.parametrize(("setting", "complaint"), [("PORT", "SMTP cannot listen"), ("API_PORT", "the API")])
def test_a_busy_port_exits_1_with_one_line(settings: dict[str, str], setting: str, complaint: str) -> None:
    with socket.create_server((HOST, 0)) as busy:
        taken = busy.getsockname()[1]
        settings[f"{PREFIX}{setting}"] = str(taken)
        failed = start(settings)
        stdout, stderr = failed.communicate(timeout=DEADLINE_SECONDS)

    assert failed.returncode == 1
    lines = [json.loads(line)["msg"] for line in stdout.splitlines()]
    (refusal,) = [line for line in lines if "cannot start" in line]
    assert refusal.startswith("galaxylab-smtp-sink cannot start")
    assert complaint in refusal
    assert f"{HOST}:{taken}" in refusal
    assert "Traceback" not in stdout + stderr
