"""The multi-host example lab: the inventory's data, the lab under test, and how it is built (helpers).

Fixtures and hooks are in tests/multihost/conftest.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import testinfra
import yaml

from galaxylab import idempotence
from tests.harness.cli import Result
from tests.harness.manifest import Manifest, load
from tests.multihost.netns import NetnsLab

MARKER = "multihost"
PLAYBOOK_ARGS_ENV = "GALAXYLAB_PLAYBOOK_ARGS"
REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventory" / "example-multihost"
# The longest a ``galaxylab`` verb may take (a bring-up over SSH on a loaded machine).
CLI_TIMEOUT = 600
# One directory per run below this, one galaxylab_root per host below that.
ROOTS_PARENT = Path("/opt/galaxylab-mh")
# What the lab is built and run from, copied once per session.
# The hosts share this machine's filesystem: these must be installed here, not by the hosts.
NEEDED = ("/usr/sbin/sshd", "/usr/bin/redis-server")
PACKAGES_PLAYBOOK = """\
- name: Install what the namespace hosts need (they share this filesystem and have no network)
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: /usr/bin/python3
  tasks:
    - name: Install Redis the lab's way
      ansible.builtin.import_role:
        name: redis_instance
        tasks_from: package
    - name: Install OpenSSH's server without letting the package start Debian's sshd
      ansible.builtin.apt:
        name: openssh-server
        state: present
        update_cache: true
        cache_valid_time: 86400
        policy_rc_d: 101
      register: openssh
    - name: Keep Debian's own sshd disabled (only the test's sshds run, in their namespaces)
      ansible.builtin.service:
        name: ssh
        enabled: false
      when: openssh is changed
"""


@cache
def example() -> dict[str, Any]:
    """The example inventory's hosts and group vars."""
    hosts = yaml.safe_load((EXAMPLE / "hosts.yml").read_text())["galaxylab"]["hosts"]
    group_vars = yaml.safe_load((EXAMPLE / "group_vars" / "all.yml").read_text())
    return {"hosts": hosts, **group_vars}


@cache
def boundary_data() -> dict[str, Any]:
    """The one boundary the example selects, as playbooks/vars/boundaries.yml has it."""
    boundaries = yaml.safe_load((REPO / "playbooks" / "vars" / "boundaries.yml").read_text())["galaxylab_boundaries"]
    (name,) = example()["galaxylab_boundary_names"]
    return next(b for b in boundaries if b["name"] == name)


def placed_host(component: str) -> str:
    """Where the example puts a component (or ``redis``) of its boundary."""
    placement = example()["galaxylab_placement"].get(boundary_data()["name"], {})
    return str(placement.get(component, placement.get("default", example()["galaxylab_default_host"])))


def components() -> list[str]:
    return ["redis", *boundary_data()["components"]]


@dataclass
class MultihostLab:
    """The brought-up example: its namespace hosts, inventory, state dir and the bring-up run."""

    hosts: NetnsLab
    project: Path
    inventory: Path
    state_dir: Path
    bring_up: idempotence.RunReport
    torn_down: bool = False
    _manifest: Manifest | None = None
    _testinfra: dict[str, Any] = field(default_factory=dict)

    @property
    def boundary(self) -> str:
        return str(boundary_data()["name"])

    def read_manifest(self) -> None:
        """Read the manifest the bring-up wrote (kept: teardown removes the file, tests still need it)."""
        self._manifest = load(self.boundary)

    def manifest(self) -> Manifest:
        """The manifest the bring-up wrote, validated against the lab's one model."""
        assert self._manifest is not None, "no manifest: bring-up did not finish"
        return self._manifest

    def testinfra(self, host: str) -> Any:
        """testinfra's host over SSH, as the manifest says to reach it."""
        if host not in self._testinfra:
            self._testinfra[host] = testinfra.get_host(self.manifest().host(host).testinfra)
        return self._testinfra[host]

    def supervisor_states(self, host: str) -> dict[str, str]:
        """``{program: STATE}`` under the host's own supervisord (one supervisorctl call over SSH)."""
        result = self.testinfra(host).run(f"{self.manifest().host(host).supervisorctl} status")
        states = {}
        for line in result.stdout.splitlines():
            fields = line.split()
            if len(fields) >= 2:
                states[fields[0].rpartition(":")[2]] = fields[1]
        return states

    def playbook(self, playbook: str) -> idempotence.RunReport:
        return run_playbook(self.project, self.inventory, playbook)

    def cli(self, *args: str) -> Result:
        """``galaxylab <args> --inventory <the namespace hosts' inventory>``.

        Playbook verbs run in the session's frozen snapshot of the lab sources, like its other playbook
        runs; ``check`` runs in the repository, which has the suites (the snapshot holds no tests)."""
        command = [sys.executable, "-m", "galaxylab.cli", *args, "--inventory", str(self.inventory)]
        cwd = REPO
        if args[0] in ("up", "down", "idempotence"):
            # The artifact (and its wheelhouse cache) is built where the real tree keeps it, as the session's runs.
            command += ["-e", f"artifact_build_dir={REPO / 'build' / 'artifact'}"]
            cwd = self.project
        proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def down(self) -> Result:
        """``galaxylab down --json``: the teardown playbook, then the CLI's check that it left nothing."""
        self.torn_down = True
        return self.cli("down", "--json")


# Every playbook run of the session, for the summary at the end: (playbook, report).
RUNS: list[tuple[str, idempotence.RunReport]] = []


def run_playbook(project: Path, inventory: Path, playbook: str) -> idempotence.RunReport:
    # Only the generated inventory: GALAXYLAB_PLAYBOOK_ARGS (make exports `-i inventory/local`) would add
    # this machine's localhost lab to the run, and down.yml would remove it.
    assert not idempotence.extra_args(), f"{PLAYBOOK_ARGS_ENV} must be unset inside the multihost session"
    # The artifact (and its wheelhouse cache) is built where the real tree keeps it.
    extra = ["-i", str(inventory), "-e", f"artifact_build_dir={REPO / 'build' / 'artifact'}"]
    report = idempotence.run_playbook(playbook, extra, project=project)
    RUNS.append((playbook, report))
    return report


def ensure_packages(scratch: Path) -> None:
    if all(Path(path).exists() for path in NEEDED):
        return
    playbook = scratch / "packages.yml"
    playbook.write_text(PACKAGES_PLAYBOOK)
    report = idempotence.run_playbook(str(playbook), ["-i", "localhost,"], project=REPO)
    if report.returncode != 0:
        pytest.fail(f"installing {', '.join(NEEDED)} failed:\n{report.output[-3000:]}", pytrace=False)


def write_inventory(lab: NetnsLab, example_dir: Path, into: Path) -> Path:
    """The example inventory with only the facts of the namespace hosts replaced."""
    shutil.copytree(example_dir, into)
    data = yaml.safe_load((example_dir / "hosts.yml").read_text())
    for name, values in data["galaxylab"]["hosts"].items():
        host = lab.host(name)
        values.update(
            {
                "ansible_host": host.address,
                "galaxylab_address": host.address,
                "ansible_port": host.ssh_port,
                "ansible_ssh_private_key_file": str(lab.key),
                "galaxylab_ssh_config": str(lab.ssh_config),
                "galaxylab_root": host.root,
            }
        )
    header = f"---\n# Generated by tests/multihost from {EXAMPLE.relative_to(REPO)}: namespace hosts of one run.\n"
    (into / "hosts.yml").write_text(header + yaml.safe_dump(data, sort_keys=False))
    return into
