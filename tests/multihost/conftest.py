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
4. at the end runs ``galaxylab down`` with that inventory (unless a test did: the teardown playbook, then
   the CLI's check that nothing is left) and removes everything it made.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator

import pytest

from galaxylab import idempotence
from tests.harness.manifest import STATE_DIR_ENV
from tests.multihost.example import (
    EXAMPLE,
    MARKER,
    PLAYBOOK_ARGS_ENV,
    REPO,
    ROOTS_PARENT,
    RUNS,
    MultihostLab,
    ensure_packages,
    example,
    run_playbook,
    write_inventory,
)
from tests.multihost.netns import NetnsLab

TORN_DOWN = "torn_down"  # the fixture of the tests that tear the example down (test_example_multihost.py)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = MARKER in (config.option.markexpr or "")
    for item in items:
        if item.get_closest_marker(MARKER) is None:
            continue
        if not selected:
            item.add_marker(pytest.mark.skip(reason=f"builds namespaces and sshds: select it with -m {MARKER}"))
        elif os.geteuid() != 0 or shutil.which("ip") is None:
            item.add_marker(pytest.mark.skip(reason="needs root and iproute2 (ip netns)"))
    # Teardown is the session's last act, whichever module asks for it (a stable sort keeps the rest in order).
    items.sort(key=lambda item: TORN_DOWN in getattr(item, "fixturenames", ()))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RUNS:
        return
    terminalreporter.section("multihost playbook runs")
    for playbook, report in RUNS:
        terminalreporter.write_line(
            f"{playbook}: exit {report.returncode} in {report.seconds:.1f}s, "
            f"{report.module_calls} module calls, {len(report.changed)} changed"
        )


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
                result = lab.down()
                if result.code != 0:
                    print(f"teardown failed: {result.explain()}", file=sys.stderr)
