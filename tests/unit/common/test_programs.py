"""The three service programs as supervisord runs them: one runner, one way to refuse a bad start.

Each program runs as a real process (``python -c 'from galaxy.<service>.main import main; main()'``) with
only its environment: a configuration fault is one line and exit 1, never a traceback or a secret; a good
configuration serves /healthz naming its own listener and stops cleanly (exit 0) on SIGTERM.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from galaxy_contracts.tokens import public_pem
from tests.harness.waits import eventually
from tests.unit.common.ports import closed_port, listening
from tests.unit.programs import child_environment

DEADLINE_SECONDS = 30.0  # a deadline, not a wait: a loaded 2-core host needs seconds to start Python
SECRET = "tok-secret-5e1f9a"
DOWN_REDIS = "redis://127.0.0.1:1/0"


@dataclass(frozen=True)
class Program:
    name: str
    module: str
    prefix: str
    listener_check: str
    files: Callable[[Path], dict[str, str]]
    """Its secret files: ``{SETTING: content}``."""
    settings: dict[str, str]


def _pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _tokens(_: Path) -> str:
    return json.dumps({"gateway": SECRET, "authsession": SECRET + "a", "lab": SECRET + "l"})


PROGRAMS = [
    Program(
        "galaxy-user",
        "galaxy.user.main",
        "GALAXY_USER_",
        "listener",
        lambda d: {"SERVICE_TOKENS_FILE": _tokens(d)},
        {},
    ),
    Program(
        "galaxy-authsession",
        "galaxy.authsession.main",
        "GALAXY_AUTHSESSION_",
        "listener",
        lambda d: {
            "SERVICE_TOKENS_FILE": _tokens(d),
            "USER_TOKEN_FILE": SECRET,
            "MAIL_TOKEN_FILE": SECRET,
            "SIGNING_KEY_FILE": _pem(Ed25519PrivateKey.generate()),
        },
        {"USER_URL": "http://127.0.0.1:1", "MAIL_URL": "http://127.0.0.1:1", "SIGNING_KID": "k1"},
    ),
    Program(
        "galaxy-gateway",
        "galaxy.gateway.main",
        "GALAXY_GATEWAY_",
        "grpc",
        lambda d: {
            "AUTHSESSION_TOKEN_FILE": SECRET,
            "USER_TOKEN_FILE": SECRET,
            "TOKEN_KEYS_FILE": json.dumps({"k1": public_pem(Ed25519PrivateKey.generate())}),
        },
        {"AUTHSESSION_URL": "http://127.0.0.1:1", "USER_URL": "http://127.0.0.1:1"},
    ),
]


def environment(program: Program, directory: Path, **overrides: str | None) -> dict[str, str]:
    """A complete, valid environment (free ports, a Redis where none listens); ``None`` unsets a variable."""
    env = child_environment(LANG="C.UTF-8", HOME=str(directory))
    values = {
        "LISTEN_HOST": "127.0.0.1",
        "PORT": str(closed_port()),
        "ADMIN_PORT": str(closed_port()),
        "REDIS_URL": DOWN_REDIS,
        **program.settings,
    }
    for setting, content in program.files(directory).items():
        path = directory / setting.lower()
        path.write_text(content)
        values[setting] = str(path)
    for setting, value in (values | overrides).items():
        if value is not None:
            env[program.prefix + setting] = value
    return env


def launch(program: Program, env: dict[str, str]) -> subprocess.Popen[str]:
    code = f"from {program.module} import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def refused(program: Program, env: dict[str, str]) -> str:
    """The program's whole output, after checking it exited 1 with exactly one line."""
    process = launch(program, env)
    output, _ = process.communicate(timeout=DEADLINE_SECONDS)
    lines = output.splitlines()
    assert process.returncode == 1, output
    assert len(lines) == 1, output
    assert "Traceback" not in output
    assert SECRET not in output
    assert f"{program.name} cannot start" in output
    return output


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_a_missing_setting_is_one_line_naming_it(program: Program, tmp_path: Path) -> None:
    missing = next(iter(program.files(tmp_path)))

    output = refused(program, environment(program, tmp_path, **{missing: None, "PORT": "not-a-port"}))

    assert program.prefix + missing in output
    assert program.prefix + "PORT" in output


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_an_unreadable_secret_file_is_one_line_naming_it(program: Program, tmp_path: Path) -> None:
    setting = list(program.files(tmp_path))[-1]

    output = refused(program, environment(program, tmp_path, **{setting: str(tmp_path / "nowhere")}))

    assert program.prefix + setting in output
    assert str(tmp_path / "nowhere") in output


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_a_malformed_key_or_tokens_file_is_one_line_without_its_content(program: Program, tmp_path: Path) -> None:
    setting = next(s for s in program.files(tmp_path) if s in {"SERVICE_TOKENS_FILE", "TOKEN_KEYS_FILE"})
    env = environment(program, tmp_path)
    Path(env[program.prefix + setting]).write_text(f'{{"lab": "{SECRET}", broken')

    output = refused(program, env)

    assert program.prefix + setting in output


def test_a_signing_key_that_is_not_a_key_is_one_line_without_its_content(tmp_path: Path) -> None:
    program = PROGRAMS[1]
    env = environment(program, tmp_path)
    Path(env["GALAXY_AUTHSESSION_SIGNING_KEY_FILE"]).write_text(f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n")

    output = refused(program, env)

    assert "GALAXY_AUTHSESSION_SIGNING_KEY_FILE" in output


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
@pytest.mark.parametrize("port", ["PORT", "ADMIN_PORT"])
def test_a_taken_port_is_one_line_naming_it(program: Program, port: str, tmp_path: Path) -> None:
    with listening() as taken:
        process = launch(program, environment(program, tmp_path, **{port: str(taken)}))
        output, _ = process.communicate(timeout=DEADLINE_SECONDS)
    refusals = [line for line in output.splitlines() if f"{program.name} cannot start" in line]

    assert process.returncode == 1, output
    assert len(refusals) == 1, output
    assert f"127.0.0.1:{taken}" in refusals[0]
    assert "Traceback" not in output
    assert SECRET not in output


def healthz(admin_port: int, process: subprocess.Popen[str]) -> dict[str, str]:
    """The /healthz checks, polled until the admin port answers."""

    def fetch() -> dict[str, str]:
        assert process.poll() is None, process.communicate()[0]
        checks: dict[str, str] = httpx.get(f"http://127.0.0.1:{admin_port}/healthz", timeout=2).json()["checks"]
        return checks

    return eventually(fetch, within=DEADLINE_SECONDS, what="the admin port", retry_on=httpx.TransportError)


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_a_good_start_reports_its_listener_and_sigterm_stops_it_cleanly(program: Program, tmp_path: Path) -> None:
    env = environment(program, tmp_path)
    process = launch(program, env)
    try:
        checks = healthz(int(env[program.prefix + "ADMIN_PORT"]), process)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=DEADLINE_SECONDS)
    finally:
        process.kill()
        process.wait()

    assert checks[program.listener_check] == "up"
    assert checks["redis"].startswith("down")
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert SECRET not in output
    # Written to a pipe (as under supervisord), so buffered: a program that exits without flushing loses it.
    assert json.loads(output.splitlines()[-1])["msg"] == f"{program.name} stopped"
