"""Run a lab playbook with a live view of its hosts and boundaries, and read its task report.

The run is ``galaxylab.idempotence``'s (the same ``galaxylab_report`` callback and environment);
here the output is streamed so the operator sees each host and boundary slice progress.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from galaxylab import idempotence
from galaxylab.plan import SLICE_SEPARATOR

_TASK = re.compile(r"^TASK \[(?P<name>.*)\] \*+$")
_RESULT = re.compile(r"^(?P<status>ok|changed|fatal|failed|skipping|unreachable): \[(?P<host>[^\]\s]+)")


@dataclass
class HostProgress:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    task: str = ""


@dataclass
class Progress:
    """What the streamed output said so far, by inventory host or ``host~boundary`` slice."""

    task: str = ""
    hosts: dict[str, HostProgress] = field(default_factory=dict)

    def feed(self, line: str) -> bool:
        """Take one output line; True when the view changed."""
        task = _TASK.match(line)
        if task:
            self.task = task["name"]
            return True
        result = _RESULT.match(line)
        if not result:
            return False
        row = self.hosts.setdefault(result["host"], HostProgress())
        row.task = self.task
        status = result["status"]
        if status == "changed":
            row.changed += 1
        elif status in ("fatal", "failed", "unreachable"):
            row.failed += 1
        elif status == "ok":
            row.ok += 1
        return True


def boundary_of(host: str) -> str:
    """``localhost~gatewayuser`` -> ``gatewayuser``; an inventory host is the lab-wide part."""
    return host.partition(SLICE_SEPARATOR)[2] or f"(host {host})"


def run(
    playbook: str,
    args: Sequence[str],
    project: Path,
    log: Path,
    on_progress: Callable[[Progress], None] = lambda _: None,
) -> idempotence.RunReport:
    """``ansible-playbook`` with the report callback, output kept in ``log``; never raises on failure."""
    progress = Progress()
    log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="galaxylab-run-") as scratch:
        report_path = Path(scratch) / "report.json"
        env = {
            **os.environ,
            "ANSIBLE_CALLBACK_PLUGINS": str(project / "playbooks" / "callback_plugins"),
            "ANSIBLE_CALLBACKS_ENABLED": "galaxylab_report",
            "GALAXYLAB_ANSIBLE_REPORT": str(report_path),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
        }
        started = time.monotonic()
        lines: list[str] = []
        command = [idempotence.ansible_playbook(), playbook, *idempotence.extra_args(), *args]
        with log.open("w", encoding="utf-8") as sink:
            proc = subprocess.Popen(
                command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                sink.write(line)
                lines.append(line)
                if progress.feed(line.rstrip("\n")):
                    on_progress(progress)
            returncode = proc.wait()
        data: dict[str, Any] = json.loads(report_path.read_text()) if report_path.exists() else {}
    return idempotence.RunReport(
        returncode=returncode,
        seconds=time.monotonic() - started,
        tasks=[idempotence.TaskResult(**task) for task in data.get("tasks", [])],
        stats=data.get("stats", {}),
        output="".join(lines),
    )


def diffs(output: str) -> dict[str, list[str]]:
    """The ``--diff`` lines printed under each task (by task name), for the tasks that show one."""
    found: dict[str, list[str]] = {}
    task = ""
    for line in output.splitlines():
        header = _TASK.match(line)
        if header:
            task = header["name"]
            continue
        if task and (line.startswith(("--- ", "+++ ", "@@ ")) or (line[:1] in "+-" and len(line) > 1)):
            found.setdefault(task, []).append(line)
    return found


@dataclass
class BoundaryRun:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    seconds: float = 0.0
    changed_tasks: list[str] = field(default_factory=list)


def by_boundary(report: idempotence.RunReport) -> dict[str, BoundaryRun]:
    """Task results per boundary slice (and one row per inventory host for the lab-wide plays)."""
    rows: dict[str, BoundaryRun] = {}
    for task in report.tasks:
        row = rows.setdefault(boundary_of(task.host), BoundaryRun())
        row.seconds += task.seconds
        if task.status in ("failed", "unreachable"):
            row.failed += 1
        elif task.changed:
            row.changed += 1
            row.changed_tasks.append(task.task)
        elif task.status == "ok":
            row.ok += 1
    return dict(sorted(rows.items(), key=lambda item: (item[0].startswith("("), item[0])))
