"""Checks of the provisioned lab, driven only by the manifests in ``<state dir>/manifests/``.

Run after bring-up, in this order (see the Makefile): ``-m lab_state``, the boundary
suites, ``-m lab_idempotence``, ``-m lab_heal``, then ``-m lab_teardown``, which tears the
lab down and is skipped unless selected by name (it is destructive).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import testinfra

from tests.harness.manifest import BRING_UP_HINT, state_dir, under_ci

DESTRUCTIVE = "lab_teardown"


@dataclass(frozen=True)
class Program:
    boundary: str
    component: str  # "redis" or a component name
    name: str
    host: str
    address: str
    ports: tuple[int, ...]
    ready_url: str


def manifests_dir() -> Path:
    return state_dir() / "manifests"


@cache
def manifests() -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(path.read_text()) for path in sorted(manifests_dir().glob("*.json")))


def programs() -> list[Program]:
    result = []
    for manifest in manifests():
        redis = manifest["redis"]
        result.append(
            Program(
                manifest["boundary"],
                "redis",
                redis["program"],
                redis["host"],
                redis["address"],
                (redis["port"],),
                f"redis://{redis['address']}:{redis['port']}",
            )
        )
        for name, component in sorted(manifest["components"].items()):
            admin_port = int(component["admin_url"].rsplit(":", 1)[1])
            result.append(
                Program(
                    manifest["boundary"],
                    name,
                    component["program"],
                    component["host"],
                    component["address"],
                    (component["port"], admin_port),
                    f"{component['admin_url']}/healthz",
                )
            )
    return result


def lab_hosts() -> dict[str, dict[str, Any]]:
    """Every host of every manifest: ``{name: hosts entry}``."""
    hosts: dict[str, dict[str, Any]] = {}
    for manifest in manifests():
        hosts.update(manifest["hosts"])
    return hosts


@cache
def host(name: str) -> Any:
    return testinfra.get_host(lab_hosts()[name]["testinfra"])


def supervisorctl(name: str, *args: str) -> Any:
    command = lab_hosts()[name]["supervisorctl"]
    return host(name).run(f"{command} {shlex.join(args)}")


def supervisor_states() -> dict[str, str]:
    """``{program: STATE}`` of every lab host, one supervisorctl call per host."""
    states: dict[str, str] = {}
    for name in lab_hosts():
        for line in supervisorctl(name, "status").stdout.splitlines():
            fields = line.split()
            if len(fields) >= 2:
                states[fields[0].split(":")[-1]] = fields[1]
    return states


def program_id(program: Program) -> str:
    return program.name


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = DESTRUCTIVE in (config.option.markexpr or "")
    for item in items:
        if item.get_closest_marker(DESTRUCTIVE) and not selected:
            reason = f"destructive (tears the lab down): select it with -m {DESTRUCTIVE}"
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session", autouse=True)
def _lab_is_up(request: pytest.FixtureRequest) -> None:
    if not manifests():
        reason = f"no manifests in {manifests_dir()}: {BRING_UP_HINT}"
        if under_ci():
            pytest.fail(f"{reason} (CI=true: a missing lab is a failure, not a skip)", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def states() -> dict[str, str]:
    return supervisor_states()
