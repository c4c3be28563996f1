"""Plot bring-up cost against the number of boundaries from bench/lab_timing.py reports.

    .venv/bin/python bench/plot_scale.py bench/results/after-10.json bench/results/after-20.json \
        bench/results/after-40.json --out bench/scale.png

Draws the median seconds of every phase (cold up, re-run, source change, teardown) per boundary count,
with the least-squares line through them, and prints each phase's slope: the cost of one more boundary.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

PHASES = ("cold up", "re-run", "source change", "teardown")


def slope(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares ``(slope, intercept)`` of ``(x, y)`` points."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    k = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else 0.0
    return k, mean_y - k * mean_x


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("bench/scale.png"))
    args = parser.parse_args()
    reports: list[dict[str, Any]] = sorted(
        (json.loads(path.read_text()) for path in args.reports), key=lambda r: r["boundaries"]
    )
    figure, axes = plt.subplots(figsize=(8, 5))
    slopes = {}
    for phase in PHASES:
        points = [(float(r["boundaries"]), float(r["medians"][phase]["seconds"])) for r in reports]
        k, b = slope(points)
        slopes[phase] = round(k, 3)
        xs = [x for x, _ in points]
        line = axes.plot(xs, [y for _, y in points], marker="o", label=f"{phase}: {k:.2f} s per boundary")
        axes.plot(xs, [k * x + b for x in xs], linestyle=":", color=line[0].get_color())
    loads = [f"{r['boundaries']}: {min(r['load_1min'])}-{max(r['load_1min'])}" for r in reports]
    axes.set_title(
        "Lab bring-up by number of boundaries (medians of 3 runs)\n1-min load during runs " + ", ".join(loads)
    )
    axes.set_xlabel("boundaries")
    axes.set_ylabel("seconds")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=110)
    print(json.dumps({"slopes_s_per_boundary": slopes, "plot": str(args.out)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
