"""Run a lab playbook and say which tasks changed something (and what the run cost).

``GALAXYLAB_PLAYBOOK_ARGS`` adds arguments to every run (another inventory, ``-e`` overrides).

``python -m galaxylab.idempotence [--playbook playbooks/up.yml] [--expect-unchanged] [-- ANSIBLE ARGS]``

The run records every task result through the ``galaxylab_report`` callback
(``playbooks/callback_plugins``); this module reads that report. With
``--expect-unchanged`` it exits 1 when any task reported ``changed``, naming each one
(host, task, items, file:line), which is how "a second bring-up changes nothing" is checked.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Actions that run on the controller without a module call on a host.
LOCAL_ACTIONS = frozenset(
    {
        "ansible.builtin.set_fact",
        "ansible.builtin.add_host",
        "ansible.builtin.validate_argument_spec",
        "ansible.builtin.include_tasks",
        "ansible.builtin.import_tasks",
        "ansible.builtin.include_role",
        "ansible.builtin.debug",
        "ansible.builtin.fail",
        "ansible.builtin.assert",
        "ansible.builtin.meta",
        "set_fact",
        "add_host",
        "validate_argument_spec",
        "include_tasks",
        "debug",
        "fail",
        "meta",
    }
)


@dataclass
class TaskResult:
    play: str
    task: str
    action: str
    path: str
    host: str
    status: str
    changed: bool
    changed_items: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def describe(self) -> str:
        items = f" items={self.changed_items}" if self.changed_items else ""
        return f"{self.host}: {self.task}{items} ({self.path})"


@dataclass
class RunReport:
    returncode: int
    seconds: float
    tasks: list[TaskResult]
    stats: dict[str, dict[str, int]]
    output: str

    @property
    def changed(self) -> list[TaskResult]:
        return [task for task in self.tasks if task.changed]

    @property
    def failed(self) -> list[TaskResult]:
        return [task for task in self.tasks if task.status in ("failed", "unreachable")]

    @property
    def module_calls(self) -> int:
        """Results that ran a module on a host (skips and controller-only actions excluded)."""
        return sum(1 for t in self.tasks if t.status != "skipped" and t.action not in LOCAL_ACTIONS)

    def slowest(self, count: int = 10) -> list[TaskResult]:
        return sorted(self.tasks, key=lambda t: t.seconds, reverse=True)[:count]


def project_root() -> Path:
    """The repository (where ansible.cfg is): GALAXYLAB_PROJECT_DIR, else the current directory."""
    return Path(os.environ.get("GALAXYLAB_PROJECT_DIR", Path.cwd())).resolve()


def ansible_playbook() -> str:
    beside = Path(sys.executable).with_name("ansible-playbook")
    return str(beside) if beside.exists() else "ansible-playbook"


def extra_args() -> list[str]:
    """``GALAXYLAB_PLAYBOOK_ARGS``: ansible-playbook arguments every lab run gets (e.g. another inventory)."""
    return shlex.split(os.environ.get("GALAXYLAB_PLAYBOOK_ARGS", ""))


# What the lab is built and run from: a copy of these is a self-contained project.
SNAPSHOT = (
    "src",
    "pyproject.toml",
    "README.md",
    "requirements",
    "playbooks",
    "roles",
    "collections",
    "inventory",
    "ansible.cfg",
)


def snapshot(project: Path, into: Path) -> Path:
    """A frozen copy of ``project``'s lab sources in ``into``, so edits made meanwhile change nothing."""
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in SNAPSHOT:
        source = project / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, into / name)
    return into


def run_playbook(
    playbook: str = "playbooks/up.yml",
    args: Sequence[str] = (),
    project: Path | None = None,
    timeout: float = 900,
) -> RunReport:
    """Run ``ansible-playbook`` in the project with the report callback; never raises on failure."""
    project = project or project_root()
    args = [*extra_args(), *args]
    with tempfile.TemporaryDirectory(prefix="galaxylab-run-") as scratch:
        report_path = Path(scratch) / "report.json"
        env = {
            **os.environ,
            "ANSIBLE_CALLBACK_PLUGINS": str(project / "playbooks" / "callback_plugins"),
            "ANSIBLE_CALLBACKS_ENABLED": "galaxylab_report",
            "GALAXYLAB_ANSIBLE_REPORT": str(report_path),
            "ANSIBLE_NOCOLOR": "1",
        }
        started = time.monotonic()
        proc = subprocess.run(
            [ansible_playbook(), playbook, *args],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        seconds = time.monotonic() - started
        data: dict[str, Any] = json.loads(report_path.read_text()) if report_path.exists() else {}
    return RunReport(
        returncode=proc.returncode,
        seconds=seconds,
        tasks=[TaskResult(**task) for task in data.get("tasks", [])],
        stats=data.get("stats", {}),
        output=proc.stdout + proc.stderr,
    )


def summary(report: RunReport) -> str:
    lines = [
        f"ansible-playbook exit {report.returncode} in {report.seconds:.1f}s, "
        f"{report.module_calls} module calls, {len(report.changed)} changed results"
    ]
    lines += [f"  CHANGED {task.describe()}" for task in report.changed]
    lines += [f"  FAILED  {task.describe()}" for task in report.failed]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m galaxylab.idempotence", description=__doc__.splitlines()[0])
    parser.add_argument("--playbook", default="playbooks/up.yml")
    parser.add_argument("--expect-unchanged", action="store_true", help="exit 1 if any task changed")
    parser.add_argument("--slowest", type=int, default=0, help="also list the N slowest task results")
    parser.add_argument("ansible_args", nargs="*", help="passed to ansible-playbook (after --)")
    args = parser.parse_args(argv)
    report = run_playbook(args.playbook, args.ansible_args)
    print(summary(report))
    for task in report.slowest(args.slowest):
        print(f"  {task.seconds:6.2f}s {task.host}: {task.task}")
    if report.returncode != 0:
        print(report.output[-4000:], file=sys.stderr)
        return report.returncode
    return 1 if args.expect_unchanged and report.changed else 0


if __name__ == "__main__":
    sys.exit(main())
