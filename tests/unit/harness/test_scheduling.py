"""The boundary scheduling under pytest-xdist, in a throwaway test tree laid out like tests/boundaries (pytester):
a boundary's tests run on one worker, boundaries are handed out heaviest first, and a run records its seconds."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from tests.harness.scheduling import boundary_of_nodeid

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[3]
BOUNDARIES = ("a", "b", "c")
TESTS_EACH = 4

CONFTEST = """
import pytest
from tests.harness import scheduling

def pytest_configure(config):
    scheduling.configure(config)

@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    return scheduling.make_scheduler(config, log)
"""

BOUNDARIES_CONFTEST = """
from tests.harness import scheduling

def pytest_runtest_setup(item):
    scheduling.wait_for_checks(item.config)
"""

# Each test appends "<boundary> <worker>" to the run's log: the order the tests ran in and where.
SUITE = """
import os, pathlib

def record():
    with pathlib.Path(os.environ["SCHEDULING_LOG"]).open("a") as log:
        log.write("{boundary} " + os.environ.get("PYTEST_XDIST_WORKER", "-") + "\\n")
""" + "".join(f"\ndef test_{n}():\n    record()\n" for n in range(TESTS_EACH))


# Tests outside the boundary suites (the lab-state checks): each gives a boundary test some time to start
# beside it (the harness's wait with a deadline: it fails as soon as one does). The last check lasts longest, so
# the worker done first would start a boundary beside it unless boundaries wait for every check.
CHECK_SECONDS = (0.2, 0.2, 0.2, 1.5)
CHECKS = """
import os, pathlib
from tests.harness.waits import WaitTimeout, until

def no_boundary_started(seconds):
    log = pathlib.Path(os.environ["SCHEDULING_LOG"])

    def boundary_started():
        return bool(set(log.read_text().split() if log.exists() else []) & {"a", "b", "c"})

    try:
        until(boundary_started, within=seconds, what="a boundary test beside a check", interval=0.02)
    except WaitTimeout:
        pass  # none started meanwhile: what the scheduling promises
    else:
        raise AssertionError("a boundary test started beside a check")
    with log.open("a") as out:
        out.write("check " + os.environ.get("PYTEST_XDIST_WORKER", "-") + "\\n")
""" + "".join(f"\ndef test_{n}():\n    no_boundary_started({seconds})\n" for n, seconds in enumerate(CHECK_SECONDS))


@pytest.fixture
def tree(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.Pytester:
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("GALAXYLAB_STATE_DIR", str(state))
    monkeypatch.setenv("SCHEDULING_LOG", str(tmp_path / "ran.log"))
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the xdist workers import tests.harness from the repo
    pytester.makeini("[pytest]\n")
    pytester.makeconftest(CONFTEST)
    (pytester.path / "boundaries").mkdir()
    (pytester.path / "boundaries" / "conftest.py").write_text(BOUNDARIES_CONFTEST)
    for name in BOUNDARIES:
        package = pytester.path / "boundaries" / name
        package.mkdir()
        (package / f"test_{name}.py").write_text(textwrap.dedent(SUITE.format(boundary=name)))
    return pytester


def ran(tree: pytest.Pytester, *args: str, checks: int = 0) -> list[tuple[str, str]]:
    """Run the tree's tests under xdist with ``--dist loadgroup``: (boundary, worker) in the order they ran."""
    result = tree.runpytest_subprocess("-p", "no:cacheprovider", "--dist", "loadgroup", *args)
    result.assert_outcomes(passed=len(BOUNDARIES) * TESTS_EACH + checks)
    lines = Path(os.environ["SCHEDULING_LOG"]).read_text().splitlines()
    return [(boundary, worker) for boundary, worker in (line.split() for line in lines)]


def recorded(tmp_path: Path) -> dict[str, float]:
    data: dict[str, float] = json.loads((tmp_path / "state" / "boundary-seconds.json").read_text())
    return data


def record_seconds(tmp_path: Path, seconds: dict[str, float]) -> None:
    (tmp_path / "state" / "boundary-seconds.json").write_text(json.dumps(seconds))


def order(runs: list[tuple[str, str]]) -> list[str]:
    """The boundaries in the order their first test ran."""
    return list(dict.fromkeys(boundary for boundary, _ in runs))


def test_each_boundary_runs_on_one_worker_and_its_seconds_are_recorded(tree: pytest.Pytester, tmp_path: Path) -> None:
    record_seconds(tmp_path, {"gone": 5.0})

    runs = ran(tree, "-n", "2")

    workers = {boundary: {worker for b, worker in runs if b == boundary} for boundary in BOUNDARIES}
    assert all(len(used) == 1 for used in workers.values()), workers
    assert {worker for _, worker in runs} == {"gw0", "gw1"}, "one worker did everything"
    seconds = recorded(tmp_path)
    assert set(seconds) == {"gone", *BOUNDARIES}, "a boundary of this run is missing, or an older one was dropped"
    assert all(value >= 0 for value in seconds.values())


def test_heaviest_boundary_first_and_one_never_recorded_before_all(tree: pytest.Pytester, tmp_path: Path) -> None:
    record_seconds(tmp_path, {"a": 1.0, "b": 30.0})

    assert order(ran(tree, "-n", "1")) == ["c", "b", "a"]


def test_the_checks_outside_the_boundaries_are_all_done_before_any_boundary_starts(tree: pytest.Pytester) -> None:
    (tree.path / "checks").mkdir()
    (tree.path / "checks" / "test_checks.py").write_text(CHECKS)

    runs = ran(tree, "-n", "2", checks=len(CHECK_SECONDS))

    assert [b for b, _ in runs[: len(CHECK_SECONDS)]] == ["check"] * len(CHECK_SECONDS), runs
    assert {worker for b, worker in runs if b == "check"} == {"gw0", "gw1"}, "the checks did not use both workers"


def test_a_run_narrowed_by_keyword_records_nothing(tree: pytest.Pytester, tmp_path: Path) -> None:
    result = tree.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup", "-k", "test_0")

    result.assert_outcomes(passed=len(BOUNDARIES))
    assert not (tmp_path / "state" / "boundary-seconds.json").exists()


@pytest.mark.parametrize(
    ("nodeid", "boundary"),
    [
        ("tests/boundaries/mailuser/test_x.py::test_y[a/b]", "mailuser"),
        ("tests/boundaries/mailuser/sub/test_x.py::test_y", "mailuser"),
        ("tests/lab/test_state.py::test_z[boundaries/x]", None),
        ("tests/boundaries/conftest.py", None),
    ],
)
def test_boundary_of_a_nodeid(nodeid: str, boundary: str | None) -> None:
    assert boundary_of_nodeid(nodeid) == boundary
