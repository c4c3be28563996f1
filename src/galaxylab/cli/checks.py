"""``check``: the state checks and the boundary suites against a lab that is up, in parallel.

One pytest run of ``tests/lab`` (its ``lab_state`` checks only) and ``tests/boundaries/<boundary>``
for each boundary (several boundaries: on xdist workers, ``--dist loadgroup``; one boundary: in the
pytest process itself, see ``worker_count``), with JUnit XML and a self-contained HTML report in
``reports/<run-id>/`` (``reports/latest`` links the newest), the plugin ``galaxylab.cli.report``
attaching log tails, process states and the re-run command to each failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from galaxylab import summary
from galaxylab.cli import nodes
from galaxylab.cli.errors import OperatorError
from galaxylab.cli.output import Output, verdict
from galaxylab.cli.project import Project

POLL_SECONDS = 0.25
NO_TESTS = 5  # pytest's exit status when nothing was collected or everything was deselected
# What tests/lab/provisioned.py narrows the state checks to (the run's boundaries, not the whole lab).
SELECTED_ENV = "GALAXYLAB_CHECK_BOUNDARIES"
# pytest plugins of the venv that the lab's checks never use (the unit tests do): importing them costs
# every pytest process of a run (controller and each xdist worker) about 1.5 s of CPU.
UNUSED_PLUGINS = ("schemathesis", "hypothesispytest", "anyio")


@dataclass
class Row:
    total: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0

    @property
    def done(self) -> int:
        return self.passed + self.failed + self.skipped


@dataclass
class LiveTally:
    rows: dict[str, Row] = field(default_factory=dict)
    offset: int = 0
    disruptive_skipped: int = 0

    def read(self, events: Path) -> bool:
        if not events.exists():
            return False
        with events.open(encoding="utf-8") as source:
            source.seek(self.offset)
            chunk = source.read()
        complete = chunk[: chunk.rfind("\n") + 1]
        self.offset += len(complete.encode())
        for line in complete.splitlines():
            self.take(json.loads(line))
        return bool(complete)

    def take(self, event: dict[str, Any]) -> None:
        if event["event"] == "collected":
            for name, total in event["totals"].items():
                self.rows.setdefault(name, Row()).total = total
            return
        self.disruptive_skipped += bool(event.get("disruptive_skipped"))
        row = self.rows.setdefault(event["boundary"], Row())
        row.seconds += event["seconds"]
        if event["outcome"] == "failed":
            row.failed += 1
        elif event["outcome"] == "skipped":
            row.skipped += 1
        else:
            row.passed += 1


def live_table(tally: LiveTally, started: float) -> Table:
    table = Table(title=f"galaxylab check ({time.monotonic() - started:.0f}s)")
    for column in ("boundary", "done", "passed", "failed", "skipped"):
        table.add_column(column, justify="left" if column == "boundary" else "right")
    for name, row in sorted(tally.rows.items()):
        failed = f"[red]{row.failed}[/]" if row.failed else "0"
        table.add_row(name, f"{row.done}/{row.total}", str(row.passed), failed, str(row.skipped))
    return table


def new_run(reports: Path) -> Path:
    reports.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run, n = reports / stamp, 1
    while run.exists():
        n += 1
        run = reports / f"{stamp}-{n}"
    run.mkdir()
    latest = reports / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(run.name)
    return run


def worker_count(selected: Sequence[str], workers: int | None) -> int:
    """pytest-xdist workers of the run: ``--workers`` when given (0: none, the tests run in the pytest process).

    One boundary runs in the pytest process: each worker would import and collect everything again (about
    a CPU-second apiece, on top of the controller's), and the boundary's disruptive tests hold it alone
    whatever the worker count. Several boundaries get one worker each, up to the CPUs: six workers on two
    cores (a worker per boundary) ran all ten in 137 s against 157 s, not the halving the waiting suites
    promised, and with cores and disks saturated a timing-bound test (Mail's retry schedule) slipped past
    its slack while six ordinary tests of its boundary ran at once.
    """
    if workers is not None:
        return workers
    if len(selected) <= 1:
        return 0
    return min(os.cpu_count() or 1, max(2, len(selected)))


def pytest_command(
    boundaries: Sequence[str], run: Path, keyword: str | None, no_disruptive: bool, workers: int
) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/lab",
        *(f"tests/boundaries/{name}" for name in boundaries),
        "-p",
        "galaxylab.cli.report",
        "--galaxylab-lab-state",
        f"--galaxylab-events={run / 'events.jsonl'}",
        f"--junitxml={run / 'junit.xml'}",
        f"--html={run / 'report.html'}",
        "--self-contained-html",
        "-n",
        str(workers),
        "--dist",
        "loadgroup",
        "-q",
        *(arg for name in UNUSED_PLUGINS for arg in ("-p", f"no:{name}")),
    ]
    if keyword:
        command += ["-k", keyword]
    if no_disruptive:
        command.append("--galaxylab-no-disruptive")
    return command


def check(
    out: Output,
    project: Project,
    inventory_path: str,
    names: Sequence[str],
    keyword: str | None,
    no_disruptive: bool,
    workers: int | None,
) -> int:
    project.inventory(inventory_path)
    selected = [m.boundary for m in project.select(names)]
    run = new_run(project.reports)
    command = pytest_command(selected, run, keyword, no_disruptive, worker_count(selected, workers))
    tally, started = LiveTally(), time.monotonic()
    log = run / "pytest.log"
    with log.open("w", encoding="utf-8") as sink, out.live(live_table(tally, started)) as live:
        env = {**os.environ, SELECTED_ENV: ",".join(selected)}
        proc = subprocess.Popen(command, cwd=project.root, env=env, stdout=sink, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=POLL_SECONDS)
            tally.read(run / "events.jsonl")
            live.update(live_table(tally, started))
    tally.read(run / "events.jsonl")
    seconds = time.monotonic() - started
    if proc.returncode == NO_TESTS:
        raise OperatorError(
            "no_tests", f"no test of {', '.join(selected)} matches -k {keyword!r}" if keyword else "no test collected"
        )
    return finish(out, run, proc.returncode, seconds, tally.disruptive_skipped if no_disruptive else None)


def finish(out: Output, run: Path, returncode: int, seconds: float, disruptive_skipped: int | None) -> int:
    junit = run / "junit.xml"
    if not junit.exists():
        out.note(escape("\n".join(((run / "pytest.log").read_text()).splitlines()[-30:])))
        out.note(f"pytest stopped before writing a report (exit {returncode}); its output is in {run / 'pytest.log'}")
        return returncode or 1
    rows = {plugin_row(name): row for name, row in summary.tally(junit).items()}
    table = Table(title=f"Boundary checks ({seconds:.1f}s)")
    for column in ("boundary", "result", "passed", "failed", "skipped", "test seconds"):
        table.add_column(column, justify="left" if column in ("boundary", "result") else "right")
    for name, row in rows.items():
        table.add_row(
            name,
            verdict(row.failed, row.passed),
            str(row.passed),
            str(row.failed),
            str(row.skipped),
            f"{row.seconds:.1f}",
        )
    out.table(table)
    if disruptive_skipped is not None:
        out.line(f"--no-disruptive: skipped {disruptive_skipped} disruptive tests")
    failures = []
    for name, row in rows.items():
        for failure in row.failures:
            command = nodes.rerun_commands(name, failure)[0] if name != nodes.STATE_ROW else f"pytest -k {failure}"
            failures.append({"boundary": name, "test": failure, "rerun": command})
            out.line(f"[red]failed[/] {name}: {escape(failure)}  [dim]re-run: {escape(command)}[/]")
    out.line(f"reports: {run / 'report.html'}  {junit}")
    out.document(
        {
            "verb": "check",
            "returncode": returncode,
            "seconds": seconds,
            "run": str(run),
            "html": str(run / "report.html"),
            "junit": str(junit),
            "disruptive_skipped": disruptive_skipped or 0,
            "boundaries": {
                name: {"passed": r.passed, "failed": r.failed, "skipped": r.skipped, "seconds": r.seconds}
                for name, r in rows.items()
            },
            "failures": failures,
        }
    )
    failed = any(row.failed for row in rows.values())
    return 1 if failed or returncode not in (0,) else 0


def plugin_row(name: str) -> str:
    """summary.boundary_of names the state checks by their package; the live view calls them lab-state."""
    return nodes.STATE_ROW if name == "tests" else name
