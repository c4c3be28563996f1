"""Where the boundary suites live: ``tests/boundaries/<boundary>/`` (a light module: the root conftest's
scheduling reads it in every pytest process)."""

from __future__ import annotations

from collections.abc import Sequence

SUITES_DIR = "boundaries"


def boundary_in(parts: Sequence[str]) -> str | None:
    """The boundary of a test file's path parts: the package directly under a ``boundaries`` directory."""
    for index in range(len(parts) - 2, 0, -1):
        if parts[index - 1] == SUITES_DIR:
            return parts[index]
    return None
