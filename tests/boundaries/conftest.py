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
exclusive for disruptive ones, across all xdist workers. They are also put in
one ``xdist_group`` per boundary, so under ``--dist loadgroup`` (``make check``)
they queue on one worker instead of blocking several.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

# Before any harness module is imported, so its asserts are rewritten; if something imported the
# harness earlier without registering it, registering now would only warn (an error here).
if "tests.harness" not in sys.modules:
    pytest.register_assert_rewrite("tests.harness")

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
        boundary = boundary_of(item.path)
        if boundary is None:
            continue
        item.add_marker(pytest.mark.lab)
        if item.get_closest_marker(DISRUPTIVE) is not None:
            item.add_marker(pytest.mark.xdist_group(f"{boundary}-{DISRUPTIVE}"))


@pytest.fixture(autouse=True)
def boundary_lock(request: pytest.FixtureRequest) -> Iterator[None]:
    """Shared hold of the boundary for an ordinary test, exclusive for a disruptive one."""
    manifest: Manifest = request.getfixturevalue("manifest")  # skips (or fails under CI) without a lab
    lock = BoundaryLock(state_dir() / "locks", manifest.boundary)
    disruptive = request.node.get_closest_marker(DISRUPTIVE) is not None
    with lock.exclusive() if disruptive else lock.shared():
        yield
