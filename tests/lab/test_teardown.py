"""Teardown leaves no process, port or file of the lab behind (destructive: select with -m lab_teardown)."""

from __future__ import annotations

from typing import Any

import pytest

from galaxylab import idempotence
from tests.harness.manifest import state_dir
from tests.lab.provisioned import host, lab_hosts, manifests, programs
from tests.lab.test_state import is_listening

pytestmark = [pytest.mark.lab, pytest.mark.lab_teardown]


@pytest.fixture(scope="module")
def torn_down() -> dict[str, Any]:
    """What the manifests promised, captured before teardown removes them, and the teardown run."""
    before = {"programs": programs(), "hosts": dict(lab_hosts()), "manifests": manifests()}
    report = idempotence.run_playbook("playbooks/down.yml")
    return {**before, "report": report}


def test_teardown_succeeds(torn_down: dict[str, Any]) -> None:
    assert torn_down["report"].returncode == 0, torn_down["report"].output[-3000:]


def test_no_manifest_port_is_listening(torn_down: dict[str, Any]) -> None:
    listening = [
        f"{p.host} {p.address}:{port} ({p.name})"
        for p in torn_down["programs"]
        for port in p.ports
        if is_listening(p.host, p.address, port)
    ]
    assert not listening


def under(root: str, path: str) -> bool:
    path = path.removesuffix(" (deleted)")
    return path == root or path.startswith(root + "/")


def test_no_lab_process_is_left(torn_down: dict[str, Any]) -> None:
    """Nothing runs from the lab root, or in it: supervisord starts every program with cwd = the root."""
    left = []
    for name, entry in torn_down["hosts"].items():
        processes = host(name).run("ps -eww -o pid=,args=").stdout.splitlines()
        left += [f"{name}: {line.strip()}" for line in processes if entry.root + "/" in line]
        cwds = host(name).run("find /proc -maxdepth 2 -name cwd -printf '%h %l\\n'").stdout.splitlines()
        left += [f"{name}: {line} (cwd)" for line in cwds if under(entry.root, line.partition(" ")[2])]
    assert not left


def test_the_lab_root_is_gone(torn_down: dict[str, Any]) -> None:
    for name, entry in torn_down["hosts"].items():
        assert not host(name).file(entry.root).exists, f"{name}:{entry.root} still exists"


def test_the_controller_state_is_gone(torn_down: dict[str, Any]) -> None:
    left = sorted(str(p) for p in state_dir().rglob("*")) if state_dir().exists() else []
    assert not state_dir().exists(), f"{state_dir()} still exists: {left[:10]}"
