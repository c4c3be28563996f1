"""Where the seconds go: per-phase medians and the slowest tasks of a bench/lab_timing.py report.

.venv/bin/python bench/breakdown.py bench/results/after-10.json [--top 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    data = json.loads(args.report.read_text())
    print(f"{data['boundaries']} boundaries, 1-min load during the runs {data['load_1min']}")
    for name, figures in data["medians"].items():
        print(
            f"  {name:14} median {figures['seconds']:6.2f} s  samples {figures['samples']}  "
            f"module calls {figures['module_calls']}  changed {figures['changed']}  "
            f"cpu {figures.get('cpu_seconds', '-')} s"
        )
    for name in data["medians"]:
        seconds: dict[str, list[float]] = {}
        for cycle in data["cycles"]:
            for run in cycle:
                if run["run"] == name:
                    for task in run["tasks"]:
                        seconds.setdefault(task["task"], []).append(task["seconds"])
        slowest = sorted(((statistics.median(v), k) for k, v in seconds.items()), reverse=True)[: args.top]
        print(f"{name}: slowest tasks (median s)")
        for value, task in slowest:
            print(f"  {value:6.2f}  {task}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
