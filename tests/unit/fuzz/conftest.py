"""The in-process lab the fuzz runner is pointed at (one per module: starting it takes a moment)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.unit.fuzz.lab import InProcessLab, running


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessLab]:
    with running(tmp_path_factory.mktemp("lab")) as started:
        yield started
