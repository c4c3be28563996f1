"""The order a run takes its boundary tests in."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from tests.harness.fixtures import boundary_of


class Item(Protocol):
    """What ordering needs of a collected test (``pytest.Item``)."""

    @property
    def path(self) -> Path: ...

    def get_closest_marker(self, name: str) -> object | None: ...


T = TypeVar("T", bound=Item)


def disruptive_modules_first(items: Sequence[T], marker: str) -> list[T]:
    """Within each boundary, the modules with a test marked ``marker`` first, the others after; otherwise the
    collection order. Whole modules move, so a module's fixtures are still set up once, and whatever is not in
    a boundary suite (the lab-state checks collected before the suites) keeps its place.

    A disruptive test gives back what it stopped as soon as the program is ready, while supervisord's own
    ``supervisorctl start`` (``startsecs`` and its pace, about a second) finishes in a thread
    (tests.harness.processes). Run last, that second is waited out at the end of the run; run first, the
    boundary's ordinary tests run meanwhile.

    For a run in one process only (``galaxylab check`` of one boundary): on xdist workers the order decides which
    tests of other boundaries run beside which, and a timing-bound test (Mail's retry schedule, an attempt 5 s
    late) failed when the suites' ordinary tests ran beside the other boundaries' disruptive ones.
    """
    disruptive = {item.path for item in items if item.get_closest_marker(marker) is not None}
    first_of_boundary: dict[str, int] = {}

    def position(indexed: tuple[int, T]) -> tuple[int, int, int]:
        index, item = indexed
        boundary = boundary_of(item.path)
        if boundary is None:
            return (index, 0, index)
        first = first_of_boundary.setdefault(boundary, index)
        return (first, 0 if item.path in disruptive else 1, index)

    return [item for _, item in sorted(enumerate(items), key=position)]
