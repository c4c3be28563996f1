"""A program stopped through the process manager is started again by re-running bring-up."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from galaxylab import idempotence, ready
from tests.lab.provisioned import programs, supervisor_states, supervisorctl

pytestmark = [pytest.mark.lab, pytest.mark.lab_heal]

READY_DEADLINE = 30.0


def victims() -> list[Any]:
    """One service per boundary and the Redis of the first: enough to prove healing in one re-run."""
    chosen: dict[str, Any] = {}
    for program in programs():
        if program.component != "redis":
            chosen.setdefault(program.boundary, program)
    first_redis = next(p for p in programs() if p.component == "redis")
    return [*chosen.values(), first_redis]


@pytest.fixture(scope="module")
def healed() -> tuple[list[Any], dict[str, str], idempotence.RunReport]:
    stopped = victims()
    for program in stopped:
        result = supervisorctl(program.host, "stop", f"{program.boundary}:{program.name}")
        assert result.rc == 0, result.stdout + result.stderr
    before = supervisor_states()
    report = idempotence.run_playbook("playbooks/up.yml")
    return stopped, before, report


def test_the_programs_were_really_stopped(healed: tuple[list[Any], dict[str, str], Any]) -> None:
    stopped, before, _ = healed
    assert {before[p.name] for p in stopped} == {"STOPPED"}


def test_bring_up_restarted_them(healed: tuple[list[Any], dict[str, str], idempotence.RunReport]) -> None:
    stopped, _, report = healed
    assert report.returncode == 0, report.output[-3000:]
    starts = [t for t in report.changed if "Start every program that is not running" in t.task]
    assert starts, idempotence.summary(report)
    states = supervisor_states()
    assert {p.name: states.get(p.name) for p in stopped} == {p.name: "RUNNING" for p in stopped}


def test_they_are_ready_again(healed: tuple[list[Any], dict[str, str], Any]) -> None:
    stopped, _, _ = healed
    checks = [ready.Check(p.name, p.probe.url, p.probe.ca) for p in stopped]  # (a CA path on this machine's lab)
    outcomes = asyncio.run(ready.wait_all(checks, READY_DEADLINE))
    assert [(o.check.name, o.reason) for o in outcomes if not o.ready] == []
