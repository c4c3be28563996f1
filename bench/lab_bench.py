"""Lab benchmark: cold bring-up, idempotent re-run, each boundary suite, peak RSS.

Every figure is the median wall time of ``--runs`` runs (>= 3). Packages are
assumed installed (the venv and Debian's redis-server): this measures the lab,
not the network. Prints the figures and writes ``reports/bench.json``. Run it on
a quiet machine: it tears the lab down and brings it up again. Peak RSS is read
from /proc, so it covers the controller's own host (the local inventory).
``bench/lab_timing.py`` projects bring-up times to more boundaries.

    .venv/bin/python bench/lab_bench.py --runs 3
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
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
    return load_all(manifests_dir(ROOT))


def peak_rss_mib() -> dict[str, float]:
    """VmHWM of every lab program, from the lab's supervisord (local hosts)."""
    result: dict[str, float] = {}
    for manifest in manifests():
        for host in manifest.hosts.values():
            command = [*shlex.split(host.supervisorctl), "status"]
            out = subprocess.run(command, capture_output=True, text=True, check=False).stdout
            for line in out.splitlines():
                fields = line.split()
                if "pid" in fields:
                    pid = fields[fields.index("pid") + 1].rstrip(",")
                    status = Path(f"/proc/{pid}/status").read_text()
                    hwm = next(ln for ln in status.splitlines() if ln.startswith("VmHWM"))
                    result[fields[0]] = int(hwm.split()[1]) / 1024
    return result


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
    figures["peak_rss_mib"] = peak_rss_mib()
    figures["down_s"] = timed(down)
    (ROOT / "reports").mkdir(exist_ok=True)
    (ROOT / "reports" / "bench.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
