"""Time the lab's bring-up (cold, re-run, re-run after a source change) and teardown, count module calls.

    .venv/bin/python bench/lab_timing.py [--boundaries N] [--runs 3] [--port-shift 5000] [--out FILE]

Runs against an isolated copy of the lab (its own galaxylab_root, state dir, ports and a snapshot of the
project), so it can run beside a lab in use. ``--boundaries N`` repeats the real boundaries with new names
and ports up to N. Each run is one cycle on a fresh root, every figure is the median over ``--runs``:

- cold up: nothing on the host, packages installed, artifact built;
- re-run: nothing changed (must report changed=0);
- source change: one source file edited (a new artifact is built, installed, every program restarted);
- teardown: ``down.yml`` plus the leaves-nothing check (no process, port, file or state left).

The callback times every task; ``--out`` keeps the whole report (per-task seconds of every run).
Issue 9 targets for 10 boundaries: cold <= 15 s, re-run <= 8 s, source change <= 12 s, teardown <= 4 s.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from galaxylab import idempotence

REPO = Path(__file__).resolve().parents[1]
PHASES = ("cold up", "re-run", "source change", "teardown")


def boundaries(count: int, shift: int) -> list[dict[str, Any]]:
    real = yaml.safe_load((REPO / "playbooks/vars/boundaries.yml").read_text())["galaxylab_boundaries"]
    result = []
    for index, boundary in zip(range(count or len(real)), itertools.cycle(real), strict=False):
        copy = dict(boundary)
        if index >= len(real):
            copy["name"] = f"{boundary['name']}{index}"
        copy["port_base"] = 20000 + shift + 100 * index
        result.append(copy)
    return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def phase(label: str, playbook: str, args: list[str], project: Path) -> dict[str, Any]:
    cpu = _children_cpu()
    report = idempotence.run_playbook(playbook, args, project=project)
    cpu = _children_cpu() - cpu
    if report.returncode != 0:
        print(report.output[-3000:], file=sys.stderr)
        raise SystemExit(f"{label}: ansible-playbook failed ({report.returncode})")
    return {
        "run": label,
        "seconds": round(report.seconds, 2),
        # CPU of ansible-playbook and everything it ran (modules, pip, the readiness waiter), not of the
        # programs supervisord runs: a figure the machine's other load changes far less than wall time.
        "cpu_seconds": round(cpu, 2),
        "module_calls": report.module_calls,
        "changed": len(report.changed),
        "changed_tasks": [task.describe() for task in report.changed] if label == "re-run" else [],
        "tasks": [{"host": t.host, "task": t.task, "status": t.status, "seconds": t.seconds} for t in report.tasks],
    }


def _ports(data: list[dict[str, Any]]) -> list[int]:
    return [b["port_base"] + offset for b in data for offset in range(0, 82)]


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def leftovers(root: str, state: Path, ports: list[int]) -> list[str]:
    """What tests/lab/test_teardown.py checks, on this host: processes, cwds, ports, files, lab state."""
    left = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if root + "/" in args or cwd == root or cwd.startswith(root + "/"):
            left.append(f"process {proc.name}: {args.strip()} (cwd {cwd})")
    left += [f"port {port}" for port in ports if _listening(port)]
    left += [f"path {path}" for path in (Path(root), state) if path.exists()]
    return left


def teardown(args: list[str], project: Path, root: str, state: Path, ports: list[int]) -> dict[str, Any]:
    started = time.monotonic()
    result = phase("teardown", "playbooks/down.yml", args, project)
    left = leftovers(root, state, ports)
    result["seconds"] = round(time.monotonic() - started, 2)
    result["left"] = left
    if left:
        raise SystemExit(f"teardown left {left[:10]}")
    return result


def change_source(project: Path, run: int) -> None:
    """One edited source file: a new artifact id, so a new release every program restarts on."""
    target = project / "src" / "galaxylab" / "__init__.py"
    target.write_text(target.read_text() + f"# bench source change {run} {time.time()}\n")


def cycle(run: int, args: list[str], project: Path, root: str, state: Path, ports: list[int]) -> list[dict[str, Any]]:
    results = []
    steps: list[Callable[[], dict[str, Any]]] = [
        lambda: phase("cold up", "playbooks/up.yml", args, project),
        lambda: phase("re-run", "playbooks/up.yml", args, project),
        lambda: (change_source(project, run), phase("source change", "playbooks/up.yml", args, project))[1],
    ]
    try:
        for step in steps:
            results.append(step())
            print(f"  run {run}: {results[-1]['run']} {results[-1]['seconds']} s", file=sys.stderr)
    finally:
        results.append(teardown(args, project, root, state, ports))
        print(f"  run {run}: teardown {results[-1]['seconds']} s", file=sys.stderr)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boundaries", type=int, default=0, help="how many boundaries (default: the real ones)")
    parser.add_argument("--runs", type=int, default=3, help="cycles; figures are medians (default 3)")
    parser.add_argument("--port-shift", type=int, default=5000, help="ports from 20000 + shift (default 5000)")
    parser.add_argument("--root", default="/opt/galaxylab-bench")
    parser.add_argument("--out", type=Path, help="write the whole report (every task of every run) here")
    parser.add_argument("--ready-deadline", type=int, default=300, help="seconds bring-up waits for readiness")
    args = parser.parse_args()
    data = boundaries(args.boundaries, args.port_shift)
    runs: list[list[dict[str, Any]]] = []
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="galaxylab-bench-") as scratch:
        data_file = Path(scratch) / "boundaries.yml"
        data_file.write_text(yaml.safe_dump({"galaxylab_boundaries": data}))
        state = Path(scratch) / "state"
        os.environ["GALAXYLAB_STATE_DIR"] = str(state)
        project = idempotence.snapshot(REPO, Path(scratch) / "project")
        # The real tree's artifact cache (wheelhouses) is reused: this measures the lab, not downloads.
        extra = ["-e", f"@{data_file}", "-e", f"galaxylab_root={args.root}"]
        extra += ["-e", f"artifact_build_dir={REPO / 'build' / 'artifact'}"]
        # Many programs starting at once on a small machine need longer than the lab's default deadline.
        extra += ["-e", f"galaxylab_ready_deadline={args.ready_deadline}"]
        # The first cold run needs the snapshot's artifact built ("artifact built" is a precondition).
        try:
            phase("warm-up", "playbooks/up.yml", extra, project)
        finally:
            teardown(extra, project, args.root, state, _ports(data))
        for run in range(1, max(1, args.runs) + 1):
            runs.append(cycle(run, extra, project, args.root, state, _ports(data)))
            loads.append(os.getloadavg()[0])
    medians = {
        name: {
            "seconds": statistics.median(r["seconds"] for cycle_ in runs for r in cycle_ if r["run"] == name),
            "samples": [r["seconds"] for cycle_ in runs for r in cycle_ if r["run"] == name],
            "module_calls": statistics.median(r["module_calls"] for cycle_ in runs for r in cycle_ if r["run"] == name),
            "cpu_seconds": statistics.median(
                r.get("cpu_seconds", 0) for cycle_ in runs for r in cycle_ if r["run"] == name
            ),
            "changed": max(r["changed"] for cycle_ in runs for r in cycle_ if r["run"] == name),
        }
        for name in PHASES
    }
    summary = {
        "boundaries": len(data),
        "runs": len(runs),
        "load_1min": [round(x, 1) for x in loads],
        "medians": medians,
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**summary, "cycles": runs}, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    rerun_changes = [t for cycle_ in runs for r in cycle_ if r["run"] == "re-run" for t in r["changed_tasks"]]
    if rerun_changes:
        print("re-run changed:\n  " + "\n  ".join(rerun_changes), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
