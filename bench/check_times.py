"""``galaxylab check`` wall time: each boundary alone, then all the selected boundaries serially and in parallel.

Runs against the lab that is up (its manifests: ``GALAXYLAB_STATE_DIR`` or ``.lab``), so it measures what
an operator waits for when re-checking after a change. Each figure is the median of ``--runs`` runs,
with the CPU seconds the run and its children used (on a busy machine wall time says little alone).
"serial" is the sum of the single-boundary medians (one ``check`` after another); "parallel" is one
``galaxylab check`` of all of them. Prints a table and writes ``reports/bench/check-times-<stamp>.json``.

    .venv/bin/python bench/check_times.py                       # every boundary that is up
    .venv/bin/python bench/check_times.py gatewayuser -r 5 --no-disruptive
    .venv/bin/python bench/check_times.py --project /tmp/other-tree   # another tree's CLI, same lab
    .venv/bin/python bench/check_times.py --baseline /tmp/88fdd23    # before/after pairs, taken in turns

``--baseline TREE`` times another tree's CLI and suites against the same lab alongside, each run of this
tree next to one of that tree (in turns: A B, B A, ...), so that a load that changes meanwhile falls on
both alike; the table then shows both and the JSON holds the baseline's figures under ``baseline``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from galaxylab.manifest import load_all, state_dir

ROOT = Path(__file__).resolve().parent.parent


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def check(project: Path, boundaries: Sequence[str], extra: Sequence[str]) -> dict[str, Any]:
    """One ``galaxylab check`` run: wall and CPU seconds, its exit status and per-boundary counts."""
    command = [sys.executable, "-m", "galaxylab.cli", "check", *boundaries, "--json", *extra]
    env = {**os.environ, "GALAXYLAB_PROJECT_DIR": str(project), "PYTHONPATH": str(project / "src")}
    load, cpu, started = load_average(), children_cpu(), time.perf_counter()
    proc = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu
    try:
        document = json.loads(proc.stdout)
    except ValueError:
        document = {"error": proc.stderr.strip().splitlines()[-1:] or ["no output"]}
    counts = dict(document.get("boundaries", {}).items())
    return {"wall": wall, "cpu": cpu, "load": load, "returncode": proc.returncode, "boundaries": counts}


def measured(
    projects: Sequence[Path], boundaries: Sequence[str], extra: Sequence[str], runs: int
) -> list[dict[str, Any]]:
    """``runs`` samples of each project's check, the projects taking turns (A B, B A, ...)."""
    samples: list[list[dict[str, Any]]] = [[] for _ in projects]
    for run in range(runs):
        order = list(range(len(projects)))
        for index in order if run % 2 == 0 else order[::-1]:
            samples[index].append(check(projects[index], boundaries, extra))
    return [medians(taken) for taken in samples]


def medians(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "wall": statistics.median(s["wall"] for s in samples),
        "cpu": statistics.median(s["cpu"] for s in samples),
        "failed_runs": sum(s["returncode"] != 0 for s in samples),
        "samples": samples,
    }


def load_average() -> float:
    return os.getloadavg()[0]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("boundaries", nargs="*", help="boundaries to time (default: every boundary that is up)")
    parser.add_argument("--runs", "-r", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--parallel-runs", type=int, default=None, help="runs of the parallel figure (default --runs)")
    parser.add_argument("--no-parallel", action="store_true", help="time each boundary alone only")
    parser.add_argument("--parallel-only", action="store_true", help="time only the one check of all of them")
    parser.add_argument("--project", type=Path, default=ROOT, help="the tree whose CLI and suites run")
    parser.add_argument("--baseline", type=Path, default=None, help="another tree timed in turns with --project")
    parser.add_argument("--no-disruptive", action="store_true", help="pass --no-disruptive to every check")
    parser.add_argument("--out", type=Path, default=None, help="JSON output (default reports/bench/...)")
    args = parser.parse_args(argv)

    up = [m.boundary for m in load_all(state_dir(ROOT) / "manifests")]
    boundaries = args.boundaries or up
    missing = sorted(set(boundaries) - set(up))
    if missing:
        parser.error(f"not up: {', '.join(missing)} (up: {', '.join(up) or 'none'})")
    extra = ["--no-disruptive"] if args.no_disruptive else []
    projects = [args.project.resolve(), *([args.baseline.resolve()] if args.baseline else [])]

    load_before = load_average()
    parallel_runs = 0 if args.no_parallel else args.parallel_runs or args.runs
    # One figure set per project: [this tree] or [this tree, the baseline].
    singles: list[dict[str, Any]] = [{} for _ in projects]
    for name in [] if args.parallel_only else boundaries:
        for single, row in zip(singles, measured(projects, [name], extra, args.runs), strict=True):
            single[name] = row
    parallels = measured(projects, boundaries, extra, parallel_runs) if parallel_runs else [None for _ in projects]
    figures = [figures_of(single, parallel) for single, parallel in zip(singles, parallels, strict=True)]

    table = Table(title=f"galaxylab check wall time (median of {args.runs}; load {load_before:.1f})")
    table.add_column("boundaries")
    for label in ["", " (baseline)"][: len(projects)]:
        for column in ("wall s", "cpu s", "failed runs"):
            table.add_column(column + label, justify="right")
    names = [
        *([] if args.parallel_only else [*boundaries, f"all {len(boundaries)} serial (sum)"]),
        *([f"all {len(boundaries)} parallel"] if parallel_runs else []),
    ]
    for position, name in enumerate(names):
        cells = []
        for figure in figures:
            shown = [] if args.parallel_only else [*figure["single"].values(), figure["serial"]]
            row = [*shown, figure["parallel"]][position]
            cells += [f"{row['wall']:.1f}", f"{row['cpu']:.1f}", str(row.get("failed_runs", ""))]
        table.add_row(name, *cells)
    Console().print(table)

    out = args.out or ROOT / "reports" / "bench" / f"check-times-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "project": tree_name(projects[0]),
        "runs": args.runs,
        "parallel_runs": parallel_runs,
        "no_disruptive": args.no_disruptive,
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": load_average(),
        **figures[0],
    }
    if args.baseline:
        document["baseline"] = {"project": tree_name(projects[1]), **figures[1]}
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"written {out}")
    rows = [row for figure in figures for row in [*figure["single"].values(), figure["parallel"]] if row]
    return 1 if any(row["failed_runs"] for row in rows) else 0


def figures_of(single: dict[str, Any], parallel: dict[str, Any] | None) -> dict[str, Any]:
    serial = {"wall": sum(row["wall"] for row in single.values()), "cpu": sum(row["cpu"] for row in single.values())}
    return {"single": single, "serial": serial, "parallel": parallel}


def tree_name(project: Path) -> str:
    """Which tree ran: this one (".") or another's directory name, never a machine's absolute path."""
    return "." if project == ROOT.resolve() else project.name


if __name__ == "__main__":
    sys.exit(main())
