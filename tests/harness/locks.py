"""A readers/writer lock shared by every test process of one boundary.

Ordinary tests hold it shared; a disruptive test (one that stops or kills a
component) holds it exclusively, so it never runs while another test of the
same boundary is running, in this process or in another xdist worker. It is
writer-preferring: once a disruptive test waits, new ordinary tests queue
behind it (a turnstile lock), so it cannot be starved.

Built on ``flock(2)`` on two files in the lab state dir: the kernel drops the
locks of a process that dies, so a crashed worker never leaves the lab locked.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.harness.waits import until

DEFAULT_TIMEOUT = 300.0
_POLL = 0.02


class BoundaryLock:
    def __init__(self, directory: Path, boundary: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._boundary = boundary
        self._main = directory / f"{boundary}.lock"
        self._turnstile = directory / f"{boundary}.turnstile.lock"

    @contextmanager
    def shared(self, timeout: float = DEFAULT_TIMEOUT) -> Iterator[None]:
        with ExitStack() as held:
            turnstile = held.enter_context(_flocked(self._turnstile, fcntl.LOCK_EX, timeout, self._what("turnstile")))
            held.enter_context(_flocked(self._main, fcntl.LOCK_SH, timeout, self._what("shared")))
            turnstile.close()
            yield

    @contextmanager
    def exclusive(self, timeout: float = DEFAULT_TIMEOUT) -> Iterator[None]:
        with (
            _flocked(self._turnstile, fcntl.LOCK_EX, timeout, self._what("turnstile")),
            _flocked(self._main, fcntl.LOCK_EX, timeout, self._what("exclusive")),
        ):
            yield

    def _what(self, kind: str) -> str:
        return f"{kind} lock of boundary {self._boundary} (another test holds it)"


class _Held:
    """An open lock file; ``close`` releases the lock early (idempotent)."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@contextmanager
def _flocked(path: Path, mode: int, timeout: float, what: str) -> Iterator[_Held]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    held = _Held(fd)
    try:
        until(lambda: _try_lock(fd, mode), within=timeout, what=what, interval=_POLL)
        yield held
    finally:
        held.close()


def _try_lock(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
