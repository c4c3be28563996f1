"""Time the lab's bring-up (cold, then re-run) and teardown, and count module calls.

    .venv/bin/python bench/lab_timing.py [--boundaries N] [--port-shift 10000]

Runs against an isolated copy of the lab (its own galaxylab_root, state dir and ports), so it
can run beside a lab in use. ``--boundaries N`` repeats the real boundaries with new names and
ports up to N (e.g. 10 for the size of the full lab). DESIGN.md section 8 targets for the full
lab: cold up < 30 s, re-run < 15 s.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from galaxylab import idempotence

REPO = Path(__file__).resolve().parents[1]


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


def run(label: str, playbook: str, args: list[str], project: Path) -> dict[str, Any]:
    report = idempotence.run_playbook(playbook, args, project=project)
    if report.returncode != 0:
        print(report.output[-3000:], file=sys.stderr)
        raise SystemExit(f"{label}: ansible-playbook failed ({report.returncode})")
    return {
        "run": label,
        "seconds": round(report.seconds, 1),
        "module_calls": report.module_calls,
        "changed": len(report.changed),
        "slowest": [f"{t.seconds:.2f}s {t.host}: {t.task}" for t in report.slowest(6)],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boundaries", type=int, default=0, help="how many boundaries (default: the real ones)")
    parser.add_argument("--port-shift", type=int, default=10000)
    parser.add_argument("--root", default="/opt/galaxylab-bench")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="galaxylab-bench-") as scratch:
        data = Path(scratch) / "boundaries.yml"
        data.write_text(yaml.safe_dump({"galaxylab_boundaries": boundaries(args.boundaries, args.port_shift)}))
        os.environ["GALAXYLAB_STATE_DIR"] = str(Path(scratch) / "state")
        project = idempotence.snapshot(REPO, Path(scratch) / "project")
        # The wheelhouse cache of the real tree is reused: this measures the lab, not downloads.
        extra = [
            "-e",
            f"@{data}",
            "-e",
            f"galaxylab_root={args.root}",
            "-e",
            f"artifact_build_dir={REPO / 'build' / 'artifact'}",
        ]
        results = []
        try:
            results.append(run("cold up", "playbooks/up.yml", extra, project))
            results.append(run("re-run", "playbooks/up.yml", extra, project))
        finally:
            results.append(run("down", "playbooks/down.yml", extra, project))
    print(json.dumps({"boundaries": args.boundaries or "real", "load": os.getloadavg(), "runs": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
