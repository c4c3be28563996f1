"""galaxylab.stop against a real supervisord (a private one, started here): the programs stop in the reverse of
their start order, a priority's programs all at once, each priority only once the one before has exited."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from galaxylab import stop
from tests.harness.waits import until
from tests.unit.supervisord import base_conf

BIN = Path(sys.executable).parent
DEADLINE_SECONDS = 30.0
# Like the lab's tiers: a Redis (100), doubles (200), services (300), in two boundaries' groups.
PROGRAMS = {
    "one": {"redis": 100, "stub": 200, "service": 300, "other-service": 300},
    "two": {"redis": 100, "service": 300},
}
GRACE_SECONDS = 0.3
"""How long each program takes to stop after SIGTERM: long enough that a tier not waited for overlaps the next."""

# Records when it got SIGTERM and when it exits (one clock for all processes: CLOCK_MONOTONIC).
PROGRAM = """
import signal, sys, time
log, name = sys.argv[1], sys.argv[2]
def stop(*_):
    with open(log, "a") as f:
        f.write(f"term {name} {time.monotonic()}\\n")
    time.sleep(GRACE)  # the program's own graceful stop takes this long
    with open(log, "a") as f:
        f.write(f"exit {name} {time.monotonic()}\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
with open(log, "a") as f:
    f.write(f"up {name} {time.monotonic()}\\n")
signal.pause()  # until SIGTERM, whose handler exits
""".replace("GRACE", str(GRACE_SECONDS))


def conf(root: Path) -> str:
    text = base_conf(root)
    for group, programs in PROGRAMS.items():
        text += f"[group:{group}]\nprograms={','.join(f'{group}-{name}' for name in programs)}\n"
        for name, priority in programs.items():
            text += textwrap.dedent(f"""
                [program:{group}-{name}]
                command={sys.executable} {root}/program.py {root}/events.log {group}-{name}
                priority={priority}
                startsecs=0
                autorestart=true
                stopwaitsecs=10
            """)
    return text


def events(root: Path) -> list[tuple[str, str, float]]:
    path = root / "events.log"
    lines = path.read_text().splitlines() if path.exists() else []
    return [(kind, name, float(at)) for kind, name, at in (line.split() for line in lines)]


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    (tmp_path / "program.py").write_text(PROGRAM)
    (tmp_path / "supervisord.conf").write_text(conf(tmp_path))
    supervisord = subprocess.Popen([f"{BIN}/supervisord", "-n", "-c", f"{tmp_path}/supervisord.conf"])
    try:
        everyone = sum(len(programs) for programs in PROGRAMS.values())
        until(lambda: len(events(tmp_path)) >= everyone, within=DEADLINE_SECONDS, what="every program up")
        yield tmp_path, supervisord
    finally:
        if supervisord.poll() is None:
            supervisord.send_signal(signal.SIGTERM)
        supervisord.wait(timeout=DEADLINE_SECONDS)


def test_programs_stop_from_the_last_started_priority_down_then_supervisord(
    supervised: tuple[Path, subprocess.Popen[bytes]],
) -> None:
    root, supervisord = supervised

    assert stop.main(["--configuration", str(root / "supervisord.conf"), "--deadline", str(DEADLINE_SECONDS)]) == 0
    supervisord.wait(timeout=DEADLINE_SECONDS)

    seen = events(root)
    priority = {f"{g}-{n}": p for g, programs in PROGRAMS.items() for n, p in programs.items()}
    term = {name: at for kind, name, at in seen if kind == "term"}
    exited = {name: at for kind, name, at in seen if kind == "exit"}
    assert set(term) == set(exited) == set(priority), "every program got SIGTERM and exited"
    for tier in (300, 200):
        later = [name for name in priority if priority[name] < tier]
        for name in (n for n in priority if priority[n] == tier):
            stopped_too_soon = [other for other in later if term[other] < exited[name]]
            assert not stopped_too_soon, f"{stopped_too_soon} got SIGTERM before {name} (priority {tier}) exited"
    # A tier is stopped at once: its programs got SIGTERM before any of them had finished stopping.
    services = [name for name in priority if priority[name] == 300]
    assert max(term[name] for name in services) < min(exited[name] for name in services)


def test_an_unreachable_supervisord_is_one_line_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "supervisord.conf").write_text(conf(tmp_path))

    assert stop.main(["--configuration", str(tmp_path / "supervisord.conf"), "--deadline", "1"]) == 1

    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"galaxylab.stop: supervisord ({tmp_path}/supervisord.conf): ")
