"""Which boundary a test belongs to and how to re-run it: shared by ``check`` and its pytest plugin.

Kept apart from the plugin (``galaxylab.cli.report``) so the ``check`` verb names failures without
importing pytest, testinfra and the Redis client in its own process.
"""

from __future__ import annotations

import shlex
from pathlib import Path

STATE_ROW = "lab-state"


def boundary_of(path: Path, root: Path) -> str | None:
    """``tests/boundaries/<boundary>/...`` -> boundary; ``tests/lab/...`` -> the state-check row."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = path.parts
    if len(parts) > 2 and parts[:2] == ("tests", "boundaries"):
        return parts[2]
    if len(parts) > 1 and parts[:2] == ("tests", "lab"):
        return STATE_ROW
    return None


def rerun_commands(boundary: str, nodeid: str) -> list[str]:
    name = nodeid.rpartition("::")[2]
    return [f"galaxylab check {boundary} -k {shlex.quote(name)}", f"pytest {shlex.quote(nodeid)}"]
