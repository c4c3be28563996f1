"""The operator's verbs with the multi-host inventory: ``galaxylab status``, ``logs``, ``check`` and
``idempotence`` reach every host over SSH, as they do the embedded localhost one.

Runs before test_example_multihost.py tears the lab down (files run in name order, one session).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.harness.cli import Result
from tests.multihost.example import REPO, MultihostLab, components, placed_host

pytestmark = pytest.mark.multihost

TIMEOUT = 600


def cli(lab: MultihostLab, *args: str) -> Result:
    """``galaxylab <args> --inventory <the namespace hosts' inventory>``.

    Playbook verbs run in the session's frozen snapshot of the lab sources, like its other playbook
    runs; ``check`` runs in the repository, which has the suites (the snapshot holds no tests)."""
    command = [sys.executable, "-m", "galaxylab.cli", *args, "--inventory", str(lab.inventory)]
    cwd = REPO
    if args[0] in ("up", "down", "idempotence"):
        # The artifact (and its wheelhouse cache) is built where the real tree keeps it, as the session's runs.
        command += ["-e", f"artifact_build_dir={REPO / 'build' / 'artifact'}"]
        cwd = lab.project
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_status_reports_every_program_on_its_own_host(lab: MultihostLab) -> None:
    result = cli(lab, "status", "--json")
    assert result.code == 0, result.explain()
    programs = {p["component"]: p for p in result.document["programs"]}
    assert set(programs) == set(components())
    for component, program in programs.items():
        assert program["host"] == placed_host(component), program
        assert program["state"] == "RUNNING", program
        assert program["pid"], program
        assert program["ready"], program


def test_logs_come_from_the_host_that_runs_the_program(lab: MultihostLab) -> None:
    result = cli(lab, "logs", lab.boundary, "gateway", "--lines", "5", "--json")
    assert result.code == 0, result.explain()
    logs = result.document["logs"]
    assert list(logs) == [f"{lab.boundary}-gateway"]
    # The gateway on its own host has logged its start; the controller has no such file.
    assert logs[f"{lab.boundary}-gateway"], logs


def test_check_runs_the_boundary_suite_against_the_remote_hosts(lab: MultihostLab) -> None:
    # Not the disruptive tests: the example's hosts are shared with the rest of this session. Nor the
    # per-file state checks (about 85 testinfra round trips over SSH, most of a full check's time here):
    # test_example_multihost.py checks placement, listeners and processes on each host itself.
    result = cli(lab, "check", lab.boundary, "--no-disruptive", "-k", "not test_state", "--json")
    assert result.code == 0, result.explain()
    row = result.document["boundaries"][lab.boundary]
    assert row["failed"] == 0, row
    assert row["passed"] > 0, row


def test_idempotence_reports_no_change_on_any_host(lab: MultihostLab) -> None:
    result = cli(lab, "idempotence", "--json")
    assert result.code == 0, result.explain()
    assert result.document["changed"] == []
