"""``galaxylab`` against a real (isolated) lab: up, status, logs, check, a failing check's report,
idempotence, a port taken outside the lab, a source change's restart, down and the leaves-nothing check. In file
order."""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import BOUNDARY, PORT_OFFSET, ROOT, IsolatedLab

pytestmark = pytest.mark.cli_e2e


@pytest.fixture(scope="module")
def up(lab: IsolatedLab) -> IsolatedLab:
    result = lab.cli("up", "--json")
    assert result.code == 0, result.err[-3000:]
    # One summary row per host slice of the bring-up (the per-host design), none with a failed task.
    rows = result.document["boundaries"]
    assert rows, result.out[-3000:]
    assert [row for row in rows if row["failed"]] == []
    return lab


def test_status_shows_every_program_running_and_ready(up: IsolatedLab) -> None:
    result = up.cli("status", "--json")
    assert result.code == 0, result.err
    programs = result.document["programs"]
    assert {p["component"] for p in programs} == {"redis", "gateway", "user"}
    assert all(p["state"] == "RUNNING" and p["ready"] and p["pid"] for p in programs)
    assert {port for p in programs for port in p["ports"]} == {21500 + PORT_OFFSET, 21510 + PORT_OFFSET,
                                                               21511 + PORT_OFFSET, 21530 + PORT_OFFSET,
                                                               21531 + PORT_OFFSET}  # fmt: skip


def test_logs_of_one_program(up: IsolatedLab) -> None:
    result = up.cli("logs", BOUNDARY, "gateway", "--json")
    assert result.code == 0, result.err
    assert list(result.document["logs"]) == [f"{BOUNDARY}-gateway"]


def test_a_second_bring_up_changes_nothing(up: IsolatedLab) -> None:
    result = up.cli("idempotence", "--json")
    assert result.code == 0, result.out[-3000:] + result.err[-3000:]
    assert result.document["changed"] == []


def test_check_without_disruptive_tests(up: IsolatedLab) -> None:
    result = up.cli("check", BOUNDARY, "--no-disruptive", "--json")
    assert result.code == 0, result.out[-3000:] + result.err[-3000:]
    document = result.document
    assert document["disruptive_skipped"] > 0
    assert document["boundaries"][BOUNDARY]["failed"] == 0
    assert document["boundaries"][BOUNDARY]["passed"] > 0
    run = Path(document["run"])
    assert (up.project / "reports" / "latest").resolve() == run.resolve()
    assert (run / "junit.xml").is_file()
    assert "<html" in (run / "report.html").read_text()


@pytest.fixture
def gateway_stopped(up: IsolatedLab) -> Iterator[str]:
    """The isolated lab's gateway stopped through its supervisorctl; a bring-up heals it after."""
    manifest = up.manifest()
    host = manifest["hosts"][manifest["components"]["gateway"]["host"]]
    program = f"{BOUNDARY}:{manifest['components']['gateway']['program']}"
    subprocess.run([*shlex.split(host["supervisorctl"]), "stop", program], check=True, capture_output=True)
    yield manifest["components"]["gateway"]["log"]
    assert up.cli("up").code == 0


def test_a_failing_check_reports_the_log_tail_and_how_to_rerun(up: IsolatedLab, gateway_stopped: str) -> None:
    last_line = Path(gateway_stopped).read_text().strip().splitlines()[-1]
    needle = json.loads(last_line)["ts"]  # the programs log JSON lines; the time stamp is unique and plain
    result = up.cli(
        "check", BOUNDARY, "--no-disruptive", "-k", "test_get_my_account_returns_the_callers_account", "--json"
    )
    assert result.code == 1, result.out[-3000:] + result.err[-3000:]
    document = result.document
    assert document["failures"], document
    assert document["failures"][0]["rerun"].startswith(f"galaxylab check {BOUNDARY} -k ")
    html = Path(document["html"]).read_text()
    assert f"galaxylab: log {BOUNDARY}-gateway" in html
    assert f"{BOUNDARY}-gateway" in html
    assert "STOPPED" in html
    assert needle in html


@pytest.fixture
def taken_port() -> Iterator[int]:
    """authsessionuser's Redis port on the isolated lab's offset, held by this test process."""
    port = 21200 + PORT_OFFSET
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield port


def test_up_refuses_a_port_taken_outside_the_lab(up: IsolatedLab, taken_port: int) -> None:
    result = up.cli("up", "authsessionuser")
    assert result.code == 2
    (line,) = result.err.strip().splitlines()
    assert line.startswith(f"galaxylab: port {taken_port} on localhost, which authsessionuser-redis needs, is taken by")


def test_up_accepts_the_ports_the_lab_itself_holds(up: IsolatedLab) -> None:
    """A re-run over a lab that is up is not a port conflict (the ports are the lab's own)."""
    assert up.cli("up", BOUNDARY).code == 0


def test_a_source_change_restarts_every_program_stopping_redis_after_its_clients(up: IsolatedLab) -> None:
    """A new release ships the project's layer alone (the host has the lock's), restarts supervisord and every
    program; the services' graceful stops end before their Redis is told to stop (they still record and
    acknowledge what they finish), and the lab comes back."""
    log = Path(ROOT) / "log" / "supervisord.log"
    before = log.stat().st_size
    source = up.project / "src" / "galaxy" / "__init__.py"
    source.write_text(source.read_text() + "# a source change\n")

    result = up.cli("up", BOUNDARY, "--json")

    assert result.code == 0, result.out[-3000:] + result.err[-3000:]
    shipped = [task["task"] for task in result.document["changed"] if "Copy" in task["task"]]
    assert shipped == ["artifact : install | Copy the artifact to the host"], "more than the project's layer"
    with log.open() as text:
        text.seek(before)
        stopped = [line.split("stopped: ", 1)[1].split()[0] for line in text if "stopped: " in line]
    redis = f"{BOUNDARY}-redis"
    assert redis in stopped, f"not restarted: {stopped}"
    clients = [name for name in stopped if name != redis]
    assert clients, f"only Redis stopped: {stopped}"
    assert stopped.index(redis) > max(stopped.index(name) for name in clients), f"stop order: {stopped}"
    status = up.cli("status", "--json")
    assert status.code == 0, status.err


def test_down_leaves_nothing(up: IsolatedLab) -> None:
    result = up.cli("down", "--json")
    up.down = result.code == 0
    assert result.code == 0, result.out[-3000:] + result.err[-3000:]
    assert result.document["left"] == []
    assert not up.state.exists()
    status = up.cli("status")
    assert status.code == 2
    assert "the lab is not up" in status.err
