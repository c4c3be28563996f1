"""pytest plugin of ``galaxylab check``: reports that explain a failure, live events, run selection.

Loaded with ``-p galaxylab.cli.report``. On a failed test of a boundary suite
(``tests/boundaries/<boundary>/``) it attaches, for that boundary and read through each host's
testinfra backend (so remote hosts too):

- the exact command that re-runs just that test (``galaxylab check <boundary> -k <name>``, and the
  pytest node id),
- the supervisord state of each of the boundary's programs,
- the tail of each program's log,
- the Redis keys and streams the test touched through the harness's client (``galaxylab.touched``):
  type, size, TTL and newest content, read through the manifest's Redis URL,

as report sections (the terminal and the HTML report show them) and as JUnit ``<property>``
elements. Every value of the boundary's secret files is redacted from what is attached.

Options: ``--galaxylab-events FILE`` (one JSON line per collected set and per test result, which the
CLI's live view reads), ``--galaxylab-lab-state`` (of ``tests/lab`` keep only the ``lab_state``
checks) and ``--galaxylab-no-disruptive`` (skip every ``disruptive`` test and say how many).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

import pytest

from galaxylab import manifest as lab_manifest
from galaxylab import touched
from galaxylab.cli import hosts, keys
from galaxylab.cli.nodes import STATE_ROW, boundary_of, rerun_commands
from galaxylab.manifest import Manifest

DISRUPTIVE = "disruptive"
LAB_STATE = "lab_state"
LOG_LINES = 40
HARNESS_USER = "harness"  # the Redis ACL user of the suites (tests.harness.redis)
SKIP_REASON = "disruptive (stops, kills or scripts a component): --no-disruptive"
_SKIPPED = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("galaxylab")
    group.addoption("--galaxylab-events", default=None, help="write one JSON line per test result to this file")
    group.addoption("--galaxylab-lab-state", action="store_true", help="of tests/lab keep only the lab_state checks")
    group.addoption("--galaxylab-no-disruptive", action="store_true", help="skip tests marked disruptive")
    group.addoption("--galaxylab-log-lines", type=int, default=LOG_LINES, help="log lines attached per program")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath
    if config.getoption("galaxylab_lab_state"):
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            lab_check = boundary_of(item.path, root) == STATE_ROW
            (drop if lab_check and item.get_closest_marker(LAB_STATE) is None else keep).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    if config.getoption("galaxylab_no_disruptive"):
        skip = pytest.mark.skip(reason=SKIP_REASON)
        count = 0
        for item in items:
            if item.get_closest_marker(DISRUPTIVE) is not None:
                item.add_marker(skip)
                count += 1
        config.stash[_SKIPPED] = count


def pytest_report_collectionfinish(config: pytest.Config) -> str | None:
    count = config.stash.get(_SKIPPED, None)
    return f"--no-disruptive: skipping {count} disruptive tests" if count is not None else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, None]:
    """Record the Redis keys this test touches (read when it fails)."""
    touched.begin()
    try:
        yield
    finally:
        touched.end()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.failed or report.when == "teardown":
        return
    boundary = boundary_of(item.path, item.config.rootpath)
    if boundary is None or boundary == STATE_ROW:
        return
    for name, text in explain(
        item.config.rootpath, boundary, item.nodeid, item.config.getoption("galaxylab_log_lines"), touched.keys()
    ):
        report.sections.append((f"galaxylab: {name}", text))
        # JUnit takes a test's <property> elements from its teardown report, made from the item's.
        item.user_properties.append((f"galaxylab: {name}", text))


def harness_login(manifest: Manifest) -> tuple[str | None, str | None]:
    """The Redis ACL user the suites log in as and its password, read on the secrets host."""
    path = manifest.secrets.redis_users.get(HARNESS_USER)
    entry = manifest.hosts.get(manifest.secrets.host)
    if path is None or entry is None:
        return None, None
    result = hosts.run(manifest.secrets.host, entry.testinfra, f"cat -- {shlex.quote(path)}")
    return HARNESS_USER, str(result.stdout).strip() if result.rc == 0 else None


def explain(
    root: Path, boundary: str, nodeid: str, lines: int, redis_keys: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """(title, text) pairs that explain a failed test of ``boundary``; never raises, never a secret."""
    attached = [("re-run just this test", "\n".join(rerun_commands(boundary, nodeid)))]
    path = lab_manifest.manifests_dir(root) / f"{boundary}.json"
    try:
        manifest = Manifest.model_validate_json(path.read_text())
    except (OSError, ValueError) as error:
        return [*attached, ("lab", f"no manifest of {boundary} to read its logs from ({error})")]
    try:
        secrets = hosts.secret_values(manifest)
        attached.append(("supervisord", process_states(manifest)))
        for program in manifest.programs():
            url = manifest.hosts[program.host].testinfra
            text = hosts.tail(program.host, url, program.log, lines) or "(empty)"
            attached.append((f"log {program.name} ({program.host}:{program.log})", text))
        redis = manifest.redis
        user, password = harness_login(manifest)
        touched = keys.dump(redis.url, redis_keys, username=user, password=password)
        attached.append((f"redis keys the test touched ({redis.address}:{redis.port})", touched))
    except Exception as error:  # noqa: BLE001 - explaining a failure must never add one
        attached.append(("lab", f"could not read the boundary's hosts: {error}"))
        return attached
    return [(title, hosts.redact(text, secrets)) for title, text in attached]


def process_states(manifest: Manifest) -> str:
    states = hosts.supervisor_states([manifest])
    rows = []
    for program in manifest.programs():
        state = states.get(program.name)
        if state is None:
            rows.append(f"{program.name:<40} NOT CONFIGURED on {program.host}")
            continue
        detail = f"pid {state.pid}, uptime {state.uptime}" if state.pid else state.detail
        rows.append(f"{program.name:<40} {state.state:<9} {detail} ({program.host})")
    return "\n".join(rows)


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("galaxylab_events")
    if path and not hasattr(config, "workerinput"):
        config.pluginmanager.register(Events(Path(path), config.rootpath), "galaxylab-events")


class Events:
    """One JSON line per collected node set and per test phase result, on the controller only."""

    def __init__(self, path: Path, root: Path) -> None:
        self._path = path
        self._root = root
        self._collected = False
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")

    def _write(self, event: dict[str, Any]) -> None:
        with self._path.open("a", encoding="utf-8") as sink:
            sink.write(json.dumps(event) + "\n")

    def _boundary(self, nodeid: str) -> str:
        return boundary_of(self._root / nodeid.partition("::")[0], self._root) or "other"

    def _collection(self, nodeids: Sequence[str]) -> None:
        if self._collected:
            return
        self._collected = True
        totals: dict[str, int] = {}
        for nodeid in nodeids:
            boundary = self._boundary(nodeid)
            totals[boundary] = totals.get(boundary, 0) + 1
        self._write({"event": "collected", "totals": totals})

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if not session.config.pluginmanager.hasplugin("dsession"):
            self._collection([item.nodeid for item in session.items])

    def pytest_xdist_node_collection_finished(self, node: Any, ids: Sequence[str]) -> None:
        self._collection(ids)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        done = report.when == "call" or (report.when == "setup" and not report.passed)
        failed_teardown = report.when == "teardown" and report.failed
        if not (done or failed_teardown):
            return
        self._write(
            {
                "event": "result",
                "nodeid": report.nodeid,
                "boundary": self._boundary(report.nodeid),
                "when": report.when,
                "outcome": report.outcome,
                "seconds": report.duration,
                "disruptive_skipped": report.skipped and SKIP_REASON in str(report.longrepr),
            }
        )
