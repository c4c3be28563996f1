"""Lab benchmark: cold bring-up, idempotent re-run, each boundary suite, peak RSS.

Every figure is the median wall time of ``--runs`` runs (>= 3). Packages are
assumed installed (the venv and Debian's redis-server): this measures the lab,
not the network. Prints the figures and writes ``reports/bench.json``. Run it on
a quiet machine: it tears the lab down and brings it up again. Peak RSS is read
from /proc, so it covers the controller's own host (the local inventory).
``bench/lab_timing.py`` projects bring-up times to more boundaries.

    .venv/bin/python bench/lab_bench.py --runs 3

The benches that load a lab that is up (``mail_bench``, ``notification_bench``, ``login_bench``) import what
they share from here: the manifests, a percentile, the programs' pids and their memory from /proc.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Collection
from pathlib import Path

from galaxylab.manifest import Manifest, load_all, manifests_dir

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PLAYBOOK = [str(BIN / "ansible-playbook"), "-i", "inventory/local"]


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, check=False, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        print(f"warning: {' '.join(cmd[-2:])} exited {result.returncode}", file=sys.stderr)
    return elapsed


def median_of(runs: int, cmd: list[str], before: list[str] | None = None) -> float:
    samples = []
    for _ in range(runs):
        if before:
            subprocess.run(before, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)  # teardown must work
        samples.append(timed(cmd))
    return statistics.median(samples)


def manifests() -> list[Manifest]:
    """Every boundary's manifest (``GALAXYLAB_STATE_DIR`` or ``.lab``)."""
    return load_all(manifests_dir(ROOT))


def manifest_of(boundary: str) -> Manifest:
    found = {m.boundary: m for m in manifests()}
    if boundary not in found:
        raise SystemExit(f"no manifest for {boundary} in {manifests_dir(ROOT)}: bring the lab up first")
    return found[boundary]


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``samples`` (non-empty)."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def program_pids(manifest: Manifest, components: Collection[str] | None = None) -> dict[str, int]:
    """``{component: pid}`` of the boundary's running programs (Redis is ``redis``), all of them or those of
    ``components``, as each host's supervisord reports them (the pids are only readable on a local host)."""
    programs = [p for p in manifest.programs() if components is None or p.component in components]
    wanted = {p.name: p.component for p in programs}
    pids: dict[str, int] = {}
    for host in sorted({p.host for p in programs}):
        command = [*shlex.split(manifest.host(host).supervisorctl), "status"]
        out = subprocess.run(command, capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            fields = line.split()
            name = fields[0].rsplit(":", 1)[-1] if fields else ""  # supervisord names a grouped program group:name
            if name in wanted and "pid" in fields:
                pids[wanted[name]] = int(fields[fields.index("pid") + 1].rstrip(","))
    return pids


def memory_mib(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of ``/proc/<pid>/status`` in MiB: ``VmRSS`` now, ``VmHWM`` the peak since the start."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise ValueError(f"no {field} in /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds the process has used (``/proc/<pid>/stat``): on a shared machine the cost of a
    workload that its wall time hides."""
    after_name = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    utime, stime = int(after_name[11]), int(after_name[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(manifest: Manifest, components: Collection[str] | None = None) -> dict[str, float]:
    """VmHWM (peak RSS since the program started) of each component's program, ``{component: MiB}``."""
    return {c: memory_mib(pid, "VmHWM") for c, pid in program_pids(manifest, components).items()}


def load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages (``uptime``): read every figure with them."""
    return [round(x, 2) for x in os.getloadavg()]


def all_peak_rss_mib() -> dict[str, float]:
    """VmHWM of every lab program of every boundary, by program name (local hosts)."""
    return {f"{m.boundary}-{component}": mib for m in manifests() for component, mib in peak_rss_mib(m).items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = max(3, args.runs)
    down = [*PLAYBOOK, "playbooks/down.yml"]
    up = [*PLAYBOOK, "playbooks/up.yml"]
    figures: dict[str, object] = {}
    figures["cold_up_s"] = median_of(runs, up, before=down)
    figures["rerun_up_s"] = median_of(runs, up)
    suites = sorted(p.name for p in (ROOT / "tests" / "boundaries").iterdir() if (p / "__init__.py").exists())
    pytest = [str(BIN / "pytest"), "-q"]
    figures["suite_s"] = {s: median_of(runs, [*pytest, f"tests/boundaries/{s}"]) for s in suites}
    figures["all_suites_parallel_s"] = median_of(
        runs, [*pytest, "-n", "auto", "--dist", "loadgroup", "tests/boundaries"]
    )
    figures["peak_rss_mib"] = all_peak_rss_mib()
    figures["down_s"] = timed(down)
    (ROOT / "reports").mkdir(exist_ok=True)
    (ROOT / "reports" / "bench.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
