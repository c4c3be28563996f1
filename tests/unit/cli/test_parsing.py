"""What the CLI reads from hosts and tools: supervisorctl, ss, ps, ansible-playbook output, events."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from galaxylab import idempotence
from galaxylab.cli import checks, hosts, playbook
from galaxylab.cli.output import Output


def test_supervisorctl_status_lines() -> None:
    states = hosts.parse_status(
        "gatewayuser:gatewayuser-gateway   RUNNING   pid 11832, uptime 1 day, 0:10:21\n"
        "gatewayuser:gatewayuser-user      FATAL     Exited too quickly (process log may have details)\n"
        "unix:///opt/galaxylab/run/supervisor.sock no such file\n"
    )
    assert states["gatewayuser-gateway"] == hosts.ProgramState(
        "gatewayuser-gateway", "RUNNING", 11832, "1 day, 0:10:21", ""
    )
    assert states["gatewayuser-user"].state == "FATAL"
    assert states["gatewayuser-user"].detail.startswith("Exited too quickly")
    assert len(states) == 2


def test_ss_listeners_with_and_without_a_process() -> None:
    found = hosts.parse_listeners(
        'LISTEN 0 2048 127.0.0.1:21671 0.0.0.0:* users:(("galaxylab-stub",pid=11826,fd=7))\n'
        "LISTEN 0 128 0.0.0.0:2024 0.0.0.0:*\n"
        'LISTEN 0 4096 [::ffff:127.0.0.1]:21510 *:* users:(("galaxy-gateway",pid=9,fd=3))\n'
    )
    assert found == [
        hosts.Listener(21671, "127.0.0.1", 11826, "galaxylab-stub"),
        hosts.Listener(2024, "0.0.0.0", None, ""),
        hosts.Listener(21510, "::ffff:127.0.0.1", 9, "galaxy-gateway"),
    ]


def test_the_lab_pids_are_supervisord_and_its_descendants() -> None:
    ps = "1 0 init\n10 1 supervisord\n11 10 redis\n12 11 child\n20 1 other\n"
    assert hosts.descendants(ps, {10}) == {10, 11, 12}


def test_secret_values_of_json_and_pem_files() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIKey\n-----END PRIVATE KEY-----\n"
    assert "MC4CAQAwBQYDK2VwBCIEIKey" in hosts.values_in(pem)
    assert {"tok-one-123456", "tok-two-123456"} <= hosts.values_in('{"a": "tok-one-123456", "b": "tok-two-123456"}')
    assert hosts.redact("Bearer tok-one-123456 ok", ["tok-one-123456"]) == "Bearer [redacted] ok"


OUTPUT = """\
PLAY [Configure each boundary] ***

TASK [redis_instance : Config | Render redis.conf] ****************************
changed: [localhost~gatewayuser -> localhost]
--- before: /opt/galaxylab/etc/gatewayuser/redis.conf
+++ after: /root/.ansible/tmp/redis.conf
@@ -1,3 +1,3 @@
-maxmemory 64mb
+maxmemory 32mb
ok: [localhost~authsessionuser -> localhost]

TASK [service_instance : Start] ***********************************************
fatal: [localhost~gatewayuser -> localhost]: FAILED! => {}
"""


def test_progress_follows_tasks_per_host_and_slice() -> None:
    progress = playbook.Progress()
    for line in OUTPUT.splitlines():
        progress.feed(line)
    assert progress.task == "service_instance : Start"
    slice_row = progress.hosts["localhost~gatewayuser"]
    assert (slice_row.changed, slice_row.failed, slice_row.task) == (1, 1, "service_instance : Start")
    assert progress.hosts["localhost~authsessionuser"].ok == 1


def test_diffs_are_found_under_their_task() -> None:
    diff = playbook.diffs(OUTPUT)["redis_instance : Config | Render redis.conf"]
    assert "-maxmemory 64mb" in diff
    assert "+maxmemory 32mb" in diff


def _task(host: str, status: str, changed: bool = False) -> idempotence.TaskResult:
    return idempotence.TaskResult("p", "t", "a", "x.yml:1", host, status, changed, seconds=0.5)


def test_run_results_by_boundary() -> None:
    report = idempotence.RunReport(
        0,
        1.0,
        [
            _task("localhost", "ok"),
            _task("localhost~gatewayuser", "ok", True),
            _task("localhost~gatewayuser", "failed"),
        ],
        {},
        "",
    )
    rows = playbook.by_boundary(report)
    assert list(rows) == ["gatewayuser", "(host localhost)"]
    assert (rows["gatewayuser"].changed, rows["gatewayuser"].failed, rows["gatewayuser"].seconds) == (1, 1, 1.0)


def test_live_tally_of_events() -> None:
    tally = checks.LiveTally()
    tally.take({"event": "collected", "totals": {"gatewayuser": 3}})
    for outcome in ("passed", "failed", "skipped"):
        tally.take({"event": "result", "boundary": "gatewayuser", "outcome": outcome, "seconds": 1.0})
    row = tally.rows["gatewayuser"]
    assert (row.done, row.total, row.passed, row.failed, row.skipped) == (3, 3, 1, 1, 1)


def test_one_boundary_runs_in_the_pytest_process_several_on_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks.os, "cpu_count", lambda: 2)
    assert checks.worker_count(["gatewayuser"], None) == 0
    assert checks.worker_count(["gatewayuser", "authsessionuser", "gatewayauthsession"], None) == 2
    assert checks.worker_count(["gatewayuser"], 2) == 2
    assert checks.worker_count(["gatewayuser", "authsessionuser"], 0) == 0  # --workers 0: no workers at all
    command = checks.pytest_command(["gatewayuser"], Path("run"), None, False, 0)
    assert command[command.index("-n") + 1] == "0"


def test_a_failed_test_id_with_brackets_is_printed_as_it_is(tmp_path: Path) -> None:
    """A parametrised id such as ``[/v1/operator/deliveries]`` is text, not rich markup (it crashed the summary)."""
    test = "test_refused[/v1/operator/deliveries]"
    (tmp_path / "junit.xml").write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.boundaries.gatewayauthsessionmail.test_operator_surface"'
        f' name="{test}" time="0.1"><failure message="x"/></testcase>'
        "</testsuite></testsuites>"
    )
    screen = io.StringIO()
    out = Output(out=Console(file=screen, width=400), err=Console(file=io.StringIO()))

    assert checks.finish(out, tmp_path, 1, 1.0, None) == 1
    assert test in screen.getvalue()


def starting_then(
    monkeypatch: pytest.MonkeyPatch, *answers: dict[str, hosts.ProgramState]
) -> list[dict[str, hosts.ProgramState]]:
    """``supervisor_states`` answers ``answers`` in turn (the last one from then on); returns the answers given."""
    given: list[dict[str, hosts.ProgramState]] = []

    def fake(manifests: object) -> dict[str, hosts.ProgramState]:
        given.append(answers[min(len(given), len(answers) - 1)])
        return given[-1]

    monkeypatch.setattr(hosts, "supervisor_states", fake)
    return given


def test_status_waits_for_a_starting_program_to_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    starting = {"a": hosts.ProgramState("a", "STARTING"), "b": hosts.ProgramState("b", "RUNNING", 7)}
    running = {"a": hosts.ProgramState("a", "RUNNING", 8), "b": hosts.ProgramState("b", "RUNNING", 7)}
    given = starting_then(monkeypatch, starting, starting, running)

    assert hosts.settled_supervisor_states([], within=5.0) == running
    assert len(given) == 3


def test_status_reports_a_program_still_starting_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    starting = {"a": hosts.ProgramState("a", "STARTING")}
    starting_then(monkeypatch, starting)

    assert hosts.settled_supervisor_states([], within=0.3) == starting
