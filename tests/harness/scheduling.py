"""How a run spreads the boundary suites over xdist workers: a boundary's tests on one worker, heaviest first.

Under ``--dist loadgroup`` a boundary is one unit of work: all of its tests run
on one worker, in collection order, while the other workers run other
boundaries. Two workers never hold the same boundary, so an ordinary test never
waits on the boundary lock (tests.harness.locks) while a disruptive test of its
boundary runs on another worker: that wait was a third of the workers' time in
a parallel check of all ten. (The lock still keeps separate runs against one
lab apart.) Tests outside the boundary suites (the lab-state checks) keep
xdist's own grouping: one unit per test, or their ``xdist_group``.

The lab-state checks (``tests/lab``) are handed out first, and every boundary
test waits until the last of them is done (``ChecksDone``): they check every
program running and configured, which a boundary's disruptive test would
falsify for a moment. (A worker runs the last test it was given only once it
gets another or is told to stop, so the boundaries cannot simply be held back
in the controller.) Then boundaries are handed out heaviest first
(longest-processing-time first, the usual greedy answer to spreading jobs over
machines): a boundary weighs the seconds its tests took in the last run that
recorded them (``BoundarySeconds``, in the lab's state dir), and one never
recorded weighs more than any recorded one (it may be the long one).

The grouping is done here, in the scheduler, rather than with ``xdist_group``
markers: pytest-xdist 3.8 applies those by rewriting ``item._nodeid``, which
pytest 9.2 no longer reads, so the markers group nothing.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadGroupScheduling
from xdist.workermanage import WorkerController

from tests.harness.suites import boundary_in
from tests.harness.waits import until

_BOUNDARY = "boundary:"  # the prefix of a boundary's unit of work
CHECKS_WITHIN = 600.0


def configure(config: pytest.Config) -> None:
    """From a ``pytest_configure``. Where every report arrives (the xdist controller, or the one pytest
    process): record the boundaries' seconds, and under ``--dist loadgroup`` open the run's ``ChecksDone``."""
    if hasattr(config, "workerinput"):
        return
    config.pluginmanager.register(BoundarySeconds(config), BoundarySeconds.NAME)
    if config.getvalue("dist") == "loadgroup":
        config.pluginmanager.register(ChecksDone(), ChecksDone.NAME)


def make_scheduler(config: pytest.Config, log: Producer) -> BoundaryScheduling | None:
    """From a ``pytest_xdist_make_scheduler``: this scheduling for ``--dist loadgroup``, xdist's otherwise."""
    done = config.pluginmanager.get_plugin(ChecksDone.NAME)
    return BoundaryScheduling(config, done, log) if isinstance(done, ChecksDone) else None


def wait_for_checks(config: pytest.Config) -> None:
    """From a boundary test's setup: return once the run's lab-state checks are all done (at once outside
    xdist, or under a scheduling of xdist's own)."""
    marker = getattr(config, "workerinput", {}).get(ChecksDone.KEY)
    if marker:
        until(Path(marker).exists, within=CHECKS_WITHIN, what="the lab-state checks of this run to finish")


def boundary_of_nodeid(nodeid: str) -> str | None:
    """``.../boundaries/<boundary>/<file>::...`` -> boundary (as ``tests.harness.fixtures.boundary_of``)."""
    return boundary_in(nodeid.partition("::")[0].split("/"))


class ChecksDone:
    """A plugin of the xdist controller: a file that exists once every test outside the boundary suites is
    done, its path given to each worker (``workerinput``); removed with its directory at the session's end."""

    NAME = "galaxylab-checks-done"
    KEY = "galaxylab_checks_done"

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="galaxylab-checks-"))
        self.marker = self.directory / "done"

    def set(self) -> None:
        self.marker.touch()

    def pytest_configure_node(self, node: WorkerController) -> None:
        node.workerinput[self.KEY] = str(self.marker)

    def pytest_unconfigure(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class BoundaryScheduling(LoadGroupScheduling):  # type: ignore[misc]  # xdist ships no types
    """``loadgroup`` with one unit per boundary: the lab-state checks first, then boundaries heaviest first."""

    def __init__(self, config: pytest.Config, done: ChecksDone, log: Producer | None = None) -> None:
        super().__init__(config, log)
        self.weights: Mapping[str, float] = BoundarySeconds.read()
        self.done = done
        self._checks_left: int | None = None

    def _split_scope(self, nodeid: str) -> str:
        boundary = boundary_of_nodeid(nodeid)
        return f"{_BOUNDARY}{boundary}" if boundary is not None else super()._split_scope(nodeid)

    def priority(self, scope: str) -> tuple[bool, float]:
        """Tests outside the boundary suites first; then the heaviest boundary (never recorded: heaviest)."""
        if not scope.startswith(_BOUNDARY):
            return (True, 0.0)
        return (False, self.weights.get(scope.removeprefix(_BOUNDARY), math.inf))

    def _assign_work_unit(self, node: WorkerController) -> None:
        if self._checks_left is None:  # the first assignment: the collection is known
            self._checks_left = sum(1 for nodeid in self.collection or () if boundary_of_nodeid(nodeid) is None)
            self._open_when_no_check_is_left()
        first = max(self.workqueue, key=self.priority)  # the first of equals: collection order
        self.workqueue.move_to_end(first, last=False)
        super()._assign_work_unit(node)

    def mark_test_complete(self, node: WorkerController, item_index: int, duration: float = 0) -> None:
        if self._checks_left and boundary_of_nodeid(self.registered_collections[node][item_index]) is None:
            self._checks_left -= 1
            self._open_when_no_check_is_left()
        super().mark_test_complete(node, item_index, duration)

    def _open_when_no_check_is_left(self) -> None:
        if self._checks_left == 0:
            self.done.set()


class BoundarySeconds:
    """A plugin: seconds per boundary of this run (every phase of every test), kept in the lab's state dir for
    the next run's scheduling (``boundary-seconds.json``; the project runs pytest without its cache).

    Registered where every report arrives (the xdist controller, or the one pytest process). A run narrowed
    with ``-k`` or ``-m`` records nothing, so a partial run does not make a boundary look light."""

    NAME = "galaxylab-boundary-seconds"

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.seconds: dict[str, float] = {}

    @staticmethod
    def path() -> Path:
        from tests.harness.manifest import state_dir  # only where boundaries ran: it loads the manifest models

        return state_dir() / "boundary-seconds.json"

    @classmethod
    def read(cls) -> dict[str, float]:
        """The last recorded seconds per boundary; nothing when none were recorded or the file is unreadable."""
        try:
            recorded = json.loads(cls.path().read_text(encoding="utf-8"))
            return {str(k): float(v) for k, v in recorded.items()}
        except (OSError, ValueError, AttributeError, TypeError):
            return {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        boundary = boundary_of_nodeid(report.nodeid)
        if boundary is not None:
            self.seconds[boundary] = self.seconds.get(boundary, 0.0) + report.duration

    def pytest_sessionfinish(self) -> None:
        if not self.seconds or self.config.option.keyword or self.config.option.markexpr:
            return
        path = self.path()
        if not path.parent.is_dir():  # no lab: the suites skipped, nothing worth keeping
            return
        recorded = {**self.read(), **{k: round(v, 1) for k, v in self.seconds.items()}}
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        partial.replace(path)
