"""The operator's verbs with the multi-host inventory: ``galaxylab status``, ``logs``, ``check`` and
``idempotence`` reach every host over SSH, as they do the embedded localhost one.

Runs before test_example_multihost.py tears the lab down (files run in name order, one session).
"""

from __future__ import annotations

import pytest

from tests.multihost.example import MultihostLab, components, placed_host

pytestmark = pytest.mark.multihost


def test_status_reports_every_program_on_its_own_host(lab: MultihostLab) -> None:
    result = lab.cli("status", "--json")
    assert result.code == 0, result.explain()
    programs = {p["component"]: p for p in result.document["programs"]}
    assert set(programs) == set(components())
    for component, program in programs.items():
        assert program["host"] == placed_host(component), program
        assert program["state"] == "RUNNING", program
        assert program["pid"], program
        assert program["ready"], program


def test_logs_come_from_the_host_that_runs_the_program(lab: MultihostLab) -> None:
    result = lab.cli("logs", lab.boundary, "gateway", "--lines", "5", "--json")
    assert result.code == 0, result.explain()
    logs = result.document["logs"]
    assert list(logs) == [f"{lab.boundary}-gateway"]
    # The gateway on its own host has logged its start; the controller has no such file.
    assert logs[f"{lab.boundary}-gateway"], logs


def test_check_runs_the_boundary_suite_against_the_remote_hosts(lab: MultihostLab) -> None:
    # Not the disruptive tests: the example's hosts are shared with the rest of this session. Nor the
    # per-file state checks (about 85 testinfra round trips over SSH, most of a full check's time here):
    # test_example_multihost.py checks placement, listeners and processes on each host itself.
    result = lab.cli("check", lab.boundary, "--no-disruptive", "-k", "not test_state", "--json")
    assert result.code == 0, result.explain()
    row = result.document["boundaries"][lab.boundary]
    assert row["failed"] == 0, row
    assert row["passed"] > 0, row


def test_idempotence_reports_no_change_on_any_host(lab: MultihostLab) -> None:
    result = lab.cli("idempotence", "--json")
    assert result.code == 0, result.explain()
    assert result.document["changed"] == []
