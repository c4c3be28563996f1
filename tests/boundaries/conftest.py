"""What every boundary suite shares: harness assertion rewriting, the generic fixtures, the ``lab`` marker,
the boundary lock.

A suite package's name is its boundary (``tests/boundaries/<boundary>/``); its
``conftest.py`` holds only what is truly specific to it. The generic fixtures
(``boundary``, ``manifest``, ``secrets``, ``processes``, ``redis``, ``clients``,
``gateway``, ``users``, ``codes``, ``email``) come from the harness module
``tests.harness.fixtures``.

Disruptive tests (``@pytest.mark.disruptive``: they stop, kill or restart a
component, or flood it so that no latency bound of another test holds) run alone
within their boundary: every test holds the boundary's
readers/writer lock (tests.harness.locks), shared for ordinary tests and
exclusive for disruptive ones, across all xdist workers and runs. Under
``--dist loadgroup`` (``galaxylab check``) a boundary's tests all run on one
worker, heaviest boundary first, after the run's lab-state checks
(tests.harness.scheduling), so within a run no test waits on that lock.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

# Before any harness module is imported, so its asserts are rewritten; if something imported the
# harness earlier without registering it, registering now would only warn (an error here).
if "tests.harness" not in sys.modules:
    pytest.register_assert_rewrite("tests.harness")

from tests.harness import scheduling
from tests.harness.fixtures import (
    boundary,
    boundary_of,
    clients,
    codes,
    email,
    gateway,
    manifest,
    processes,
    redis,
    secrets,
    users,
)
from tests.harness.locks import BoundaryLock
from tests.harness.manifest import Manifest, state_dir

# The harness's generic fixtures, registered for the suites below this directory only. Not through
# `pytest_plugins`: pytest refuses that outside the rootdir's conftest (`pytest tests` would stop with an
# error), and from the rootdir's conftest it would put `redis`, `email`, ... in front of tests/unit too.
__all__ = ["boundary", "clients", "codes", "email", "gateway", "manifest", "processes", "redis", "secrets", "users"]

DISRUPTIVE = "disruptive"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{DISRUPTIVE}: stops, kills, restarts or floods a component of the boundary (or uses up a limit all its "
        "tests share); runs alone within its boundary",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if boundary_of(item.path) is not None:
            item.add_marker(pytest.mark.lab)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before any fixture (a suite's module-scoped outage too): the run's lab-state checks are all done."""
    scheduling.wait_for_checks(item.config)


@pytest.fixture(autouse=True)
def boundary_lock(request: pytest.FixtureRequest) -> Iterator[None]:
    """Shared hold of the boundary for an ordinary test, exclusive for a disruptive one."""
    manifest: Manifest = request.getfixturevalue("manifest")  # skips (or fails under CI) without a lab
    lock = BoundaryLock(state_dir() / "locks", manifest.boundary)
    disruptive = request.node.get_closest_marker(DISRUPTIVE) is not None
    with lock.exclusive() if disruptive else lock.shared():
        yield
