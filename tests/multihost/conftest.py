"""The example multi-host inventory, brought up on hosts made of network namespaces (tests/multihost).

Selected with ``-m multihost`` (``make multihost``); skipped otherwise, since it needs root and
builds namespaces, a bridge and sshds on the machine. The session:

1. installs what the hosts need (they share this machine's filesystem and have no network):
   Redis the lab's way, and Debian's openssh-server without starting Debian's own sshd;
2. builds one namespace host per host of ``inventory/example-multihost`` (tests.multihost.netns);
3. writes an inventory that is the example with only the connection facts replaced (address,
   SSH port, the run's key and ssh_config, a galaxylab_root per host), and runs
   ``playbooks/up.yml`` with it and a state dir of its own, from a frozen copy of the tree (like
   bench/lab_timing.py), so edits made meanwhile change nothing mid-run;
4. at the end runs ``playbooks/down.yml`` (unless a test did) and removes everything it made.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import testinfra
import yaml

from galaxylab import idempotence
from tests.harness.manifest import STATE_DIR_ENV, Manifest, load
from tests.multihost.netns import NetnsLab

MARKER = "multihost"
PLAYBOOK_ARGS_ENV = "GALAXYLAB_PLAYBOOK_ARGS"
REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventory" / "example-multihost"
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = MARKER in (config.option.markexpr or "")
    for item in items:
        if item.get_closest_marker(MARKER) is None:
            continue
        if not selected:
            item.add_marker(pytest.mark.skip(reason=f"builds namespaces and sshds: select it with -m {MARKER}"))
        elif os.geteuid() != 0 or shutil.which("ip") is None:
            item.add_marker(pytest.mark.skip(reason="needs root and iproute2 (ip netns)"))


@dataclass
class MultihostLab:
    """The brought-up example: its namespace hosts, inventory, state dir and the bring-up run."""

    hosts: NetnsLab
    project: Path
    inventory: Path
    state_dir: Path
    bring_up: idempotence.RunReport
    torn_down: bool = False
    _manifest: tuple[Manifest, dict[str, Any]] | None = None
    _testinfra: dict[str, Any] = field(default_factory=dict)

    @property
    def boundary(self) -> str:
        return str(boundary_data()["name"])

    def read_manifest(self) -> None:
        """Read the manifest the bring-up wrote (kept: teardown removes the file, tests still need it)."""
        data = json.loads((self.state_dir / "manifests" / f"{self.boundary}.json").read_text())
        self._manifest = (load(self.boundary), data)

    def manifest(self) -> Manifest:
        """The manifest as the harness reads it."""
        assert self._manifest is not None, "no manifest: bring-up did not finish"
        return self._manifest[0]

    def manifest_json(self) -> dict[str, Any]:
        """The manifest as written, with the fields the harness model leaves out."""
        assert self._manifest is not None, "no manifest: bring-up did not finish"
        return self._manifest[1]

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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RUNS:
        return
    terminalreporter.section("multihost playbook runs")
    for playbook, report in RUNS:
        terminalreporter.write_line(
            f"{playbook}: exit {report.returncode} in {report.seconds:.1f}s, "
            f"{report.module_calls} module calls, {len(report.changed)} changed"
        )


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


@pytest.fixture(scope="session")
def own_environment() -> Iterator[pytest.MonkeyPatch]:
    """The session's environment: no inherited playbook arguments or inventory (never the local lab)."""
    with pytest.MonkeyPatch.context() as env:
        for name in (PLAYBOOK_ARGS_ENV, "ANSIBLE_INVENTORY", STATE_DIR_ENV):
            env.delenv(name, raising=False)
        yield env


@pytest.fixture(scope="session")
def netns_hosts(own_environment: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetnsLab]:
    ensure_packages(tmp_path_factory.mktemp("packages"))
    with NetnsLab(list(example()["hosts"]), roots_parent=ROOTS_PARENT) as hosts:
        yield hosts


@pytest.fixture(scope="session")
def lab(netns_hosts: NetnsLab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MultihostLab]:
    project = idempotence.snapshot(REPO, tmp_path_factory.mktemp("project"))
    example_dir = project / EXAMPLE.relative_to(REPO)
    inventory = write_inventory(netns_hosts, example_dir, netns_hosts.run_dir / "inventory")
    state_dir = netns_hosts.run_dir / "state"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(STATE_DIR_ENV, str(state_dir))
        env.setenv("ANSIBLE_SSH_CONTROL_PATH_DIR", str(netns_hosts.control_dir))
        bring_up = run_playbook(project, inventory, "playbooks/up.yml")
        lab = MultihostLab(netns_hosts, project, inventory, state_dir, bring_up)
        try:
            if bring_up.returncode != 0:
                pytest.fail(f"bring-up failed:\n{bring_up.output[-4000:]}", pytrace=False)
            lab.read_manifest()
            yield lab
        finally:
            if not lab.torn_down:
                report = lab.playbook("playbooks/down.yml")
                if report.returncode != 0:
                    print(f"teardown failed:\n{report.output[-3000:]}", file=sys.stderr)
