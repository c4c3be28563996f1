"""The galaxylab CLI end to end, on an isolated lab (selected with ``-m cli_e2e``; ``make cli-e2e``).

The lab is a copy of inventory/local with its own ``galaxylab_root`` (/opt/galaxylab-cli-test),
ports moved by 5000, only ``gatewayuser``, and its own state dir, so it runs beside the lab on
inventory/local without touching it. The module's fixture brings it up with ``galaxylab up`` and
always tears it down with ``galaxylab down`` (unless a test did).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from galaxylab import idempotence
from tests.harness.cli import Result

REPO = Path(__file__).resolve().parents[2]
MARKER = "cli_e2e"
ROOT = "/opt/galaxylab-cli-test"
PORT_OFFSET = 5000
BOUNDARY = "gatewayuser"
TIMEOUT = 900


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = MARKER in (config.option.markexpr or "")
    for item in items:
        if item.get_closest_marker(MARKER) is None:
            continue
        if not selected:
            item.add_marker(pytest.mark.skip(reason=f"provisions an isolated lab: select it with -m {MARKER}"))
        elif os.geteuid() != 0:
            item.add_marker(pytest.mark.skip(reason="needs root (the lab installs a package and writes /opt)"))


@dataclass
class IsolatedLab:
    project: Path
    inventory: Path
    env: dict[str, str]
    state: Path
    build: Path
    down: bool = False

    def cli(self, *args: str, timeout: float = TIMEOUT) -> Result:
        command = [sys.executable, "-m", "galaxylab.cli", *args, "--inventory", str(self.inventory)]
        if args[0] in ("up", "down", "idempotence"):
            command += ["-e", f"artifact_build_dir={self.build}"]
        proc = subprocess.run(command, cwd=self.project, env=self.env, capture_output=True, text=True, timeout=timeout)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def manifest(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.state / "manifests" / f"{BOUNDARY}.json").read_text())
        return data


def write_inventory(directory: Path) -> Path:
    inventory = directory / "inventory"
    shutil.copytree(REPO / "inventory" / "local", inventory)
    group_vars = inventory / "group_vars" / "galaxylab.yml"
    values = yaml.safe_load(group_vars.read_text())
    values.update(galaxylab_root=ROOT, galaxylab_port_offset=PORT_OFFSET, galaxylab_boundary_names=[BOUNDARY])
    group_vars.write_text(yaml.safe_dump(values))
    return inventory


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IsolatedLab]:
    scratch = tmp_path_factory.mktemp("cli-e2e")
    # A frozen copy of the tree (sources, playbooks, tests, contracts): edits made meanwhile change nothing mid-run.
    project = idempotence.snapshot(REPO, scratch / "project")
    # The suites too, and the contracts they check the services against (the auth-surface check reads them).
    for name in ("tests", "contracts"):
        shutil.copytree(REPO / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    build = scratch / "build"
    # The tree's downloaded wheels and the lock's installed tree (and its tarball), reused: this tests the CLI,
    # not pip.
    for cache in (".wheelhouse", ".site-packages", ".layers"):
        if (REPO / "build" / "artifact" / cache).is_dir():
            shutil.copytree(REPO / "build" / "artifact" / cache, build / cache, symlinks=True)
    env = {k: v for k, v in os.environ.items() if k != "GALAXYLAB_PLAYBOOK_ARGS"}
    env.update(
        GALAXYLAB_PROJECT_DIR=str(project),
        GALAXYLAB_STATE_DIR=str(scratch / "state"),
        PYTHONPATH=os.pathsep.join([str(project / "src"), env.get("PYTHONPATH", "")]),
        COLUMNS="200",
    )
    isolated = IsolatedLab(project, write_inventory(scratch), env, scratch / "state", build)
    try:
        yield isolated
    finally:
        if not isolated.down:
            isolated.cli("down")
