"""galaxy.lab.lab_processes: teardown stops every process of a lab root, including those a lost supervisord
left behind, and nothing else."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.unit.lab.test_lab_modules import load

# Blocks until a signal ends it (no timer involved).
SLEEPER = "import signal\nwhile True: signal.pause()"
# Ignores SIGTERM, like a program stuck in a handler: only SIGKILL ends it.
STUBBORN = (
    "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\n"
    "while True: signal.pause()"
)


@pytest.fixture(scope="module")
def lab_processes() -> ModuleType:
    return load("lab_processes")


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; whatever the module did not stop is killed here."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def spawn(started: list[subprocess.Popen[bytes]], code: str, cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-c", code, *args], cwd=cwd, stdout=subprocess.PIPE)
    started.append(process)
    return process


def test_membership_is_by_working_directory_or_an_argument_below_the_root(lab_processes: ModuleType) -> None:
    belongs = lab_processes.belongs
    assert belongs("/opt/lab/etc/b1", ["/usr/bin/redis-server", "127.0.0.1:21100"], "/opt/lab")
    assert belongs("/", ["/opt/lab/current/venv/bin/python", "/opt/lab/current/venv/bin/supervisord"], "/opt/lab")
    assert not belongs("/opt/lab-other", ["/opt/lab-other/venv/bin/python"], "/opt/lab")
    assert not belongs("/root", ["python3", "/opt/labx/run.py"], "/opt/lab")
    assert not belongs(None, ["sleep", "60"], "/opt/lab")


def test_every_process_of_the_root_is_stopped_and_no_other(
    lab_processes: ModuleType, tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    root, elsewhere = tmp_path / "lab", tmp_path / "lab-next"
    (root / "etc").mkdir(parents=True)
    elsewhere.mkdir()
    ours = [
        spawn(started, SLEEPER, root),
        spawn(started, SLEEPER, root / "etc"),
        spawn(started, SLEEPER, tmp_path, str(root / "x.conf")),
    ]
    other = spawn(started, SLEEPER, elsewhere)

    stopped, killed = lab_processes.stop(str(root), timeout=10)

    assert sorted(p.pid for p in stopped) == sorted(p.pid for p in ours)
    assert killed == []
    assert all(p.wait(timeout=5) is not None for p in ours)
    assert other.poll() is None, "a process of another root was stopped"
    assert lab_processes.lab_processes(str(root), frozenset()) == []


def test_a_process_that_ignores_sigterm_is_killed_after_the_timeout(
    lab_processes: ModuleType, tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    stubborn = spawn(started, STUBBORN, tmp_path)
    assert stubborn.stdout is not None
    assert stubborn.stdout.readline() == b"ready\n"  # its handler is in place

    stopped, killed = lab_processes.stop(str(tmp_path), timeout=0.5)

    assert [p.pid for p in killed] == [stubborn.pid]
    assert [p.pid for p in stopped] == [stubborn.pid]
    assert stubborn.wait(timeout=5) == -9


def test_no_timeout_kills_at_once_and_waits_until_they_are_gone(
    lab_processes: ModuleType, tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    stubborn = spawn(started, STUBBORN, tmp_path)
    assert stubborn.stdout is not None
    assert stubborn.stdout.readline() == b"ready\n"

    stopped, killed = lab_processes.stop(str(tmp_path), timeout=0)
    assert [p.pid for p in stopped] == [stubborn.pid]

    assert [p.pid for p in killed] == [stubborn.pid]
    assert stubborn.wait(timeout=5) == -9
    assert lab_processes.lab_processes(str(tmp_path), frozenset()) == []


def test_nothing_to_stop_changes_nothing(lab_processes: ModuleType, tmp_path: Path) -> None:
    assert lab_processes.stop(str(tmp_path), timeout=1) == ([], [])
