"""Programs run as child processes import the code under test, not whatever ``galaxy`` is installed."""

from __future__ import annotations

import os
from pathlib import Path

import galaxy
import galaxylab

SOURCES = sorted({str(Path(package.__path__[0]).parent) for package in (galaxy, galaxylab)})


def child_environment(**variables: str) -> dict[str, str]:
    """Only ``PATH`` (as supervisord gives little more) plus ``variables``, with the tested sources first."""
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(SOURCES)} | variables
