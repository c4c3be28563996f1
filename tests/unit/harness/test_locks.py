"""The boundary lock: ordinary tests share it, a disruptive one holds it alone, across processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.locks import BoundaryLock
from tests.harness.waits import WaitTimeout, until

REPO = Path(__file__).resolve().parents[3]


def try_in_another_process(directory: Path, mode: str) -> bool:
    """Whether another process gets the lock (``shared`` or ``exclusive``) within 0.2 s."""
    script = holder_script(directory, mode, 0.2)
    return subprocess.run([sys.executable, "-c", script], cwd=REPO, check=False).returncode == 0


def holder_script(directory: Path, mode: str, timeout: float) -> str:
    """Python that takes the lock within ``timeout`` and exits 0, or exits 1 when it cannot."""
    return (
        "import sys; from pathlib import Path; from tests.harness.locks import BoundaryLock\n"
        "from tests.harness.waits import WaitTimeout, until\n"
        f"lock = BoundaryLock(Path({str(directory)!r}), 'b')\n"
        "try:\n"
        f"    with lock.{mode}(timeout={timeout}): pass\n"
        "except WaitTimeout: sys.exit(1)\n"
    )


@pytest.mark.parametrize(
    ("held", "wanted", "granted"),
    [
        ("shared", "shared", True),
        ("shared", "exclusive", False),
        ("exclusive", "shared", False),
        ("exclusive", "exclusive", False),
    ],
)
def test_lock_compatibility_across_processes(tmp_path: Path, held: str, wanted: str, granted: bool) -> None:
    lock = BoundaryLock(tmp_path, "b")

    with getattr(lock, held)():
        assert try_in_another_process(tmp_path, wanted) is granted


def test_released_lock_is_available_again(tmp_path: Path) -> None:
    lock = BoundaryLock(tmp_path, "b")
    with lock.exclusive():
        pass

    assert try_in_another_process(tmp_path, "exclusive")


def test_boundaries_do_not_share_a_lock(tmp_path: Path) -> None:
    with BoundaryLock(tmp_path, "other").exclusive():
        assert try_in_another_process(tmp_path, "exclusive")


def test_waiting_times_out_with_a_reason(tmp_path: Path) -> None:
    lock = BoundaryLock(tmp_path, "b")
    with (
        lock.shared(),
        pytest.raises(WaitTimeout, match="exclusive lock of boundary b"),
        BoundaryLock(tmp_path, "b").exclusive(timeout=0.1),
    ):
        pass


def test_waiting_exclusive_holder_goes_before_new_shared_holders(tmp_path: Path) -> None:
    lock = BoundaryLock(tmp_path, "b")
    with lock.shared():
        writer = subprocess.Popen([sys.executable, "-c", holder_script(tmp_path, "exclusive", 10)], cwd=REPO)
        until(lambda: not try_in_another_process(tmp_path, "shared"), within=10, what="writer queued")
    assert writer.wait(timeout=10) == 0
