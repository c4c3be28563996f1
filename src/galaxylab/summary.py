"""Per-boundary summary of a boundary-suite JUnit report.

``python -m galaxylab.summary reports/boundaries.xml`` prints one row per
boundary (passed, failed, skipped, seconds) and exits 1 when any failed.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def boundary_of(classname: str) -> str:
    """``tests.boundaries.gatewayuser.test_x.TestY`` -> ``gatewayuser``."""
    parts = classname.split(".")
    if len(parts) > 2 and parts[:2] == ["tests", "boundaries"]:
        return parts[2]
    return parts[0] if parts else "?"


def tally(report: Path) -> dict[str, Tally]:
    result: dict[str, Tally] = defaultdict(Tally)
    for case in ET.parse(report).getroot().iter("testcase"):  # noqa: S314
        row = result[boundary_of(case.get("classname", ""))]
        row.seconds += float(case.get("time", 0))
        outcome = {child.tag for child in case}
        if outcome & {"failure", "error"}:
            row.failed += 1
            row.failures.append(case.get("name", "?"))
        elif "skipped" in outcome:
            row.skipped += 1
        else:
            row.passed += 1
    return dict(sorted(result.items()))


def render(rows: dict[str, Tally], console: Console) -> None:
    table = Table(title="Boundary checks")
    for column in ("boundary", "result", "passed", "failed", "skipped", "test seconds"):
        table.add_column(column, justify="left" if column in ("boundary", "result") else "right")
    for name, row in rows.items():
        verdict = "[red]FAIL[/]" if row.failed else ("[green]PASS[/]" if row.passed else "[yellow]SKIP[/]")
        table.add_row(name, verdict, str(row.passed), str(row.failed), str(row.skipped), f"{row.seconds:.1f}")
    console.print(table)
    for name, row in rows.items():
        for failure in row.failures:
            console.print(f"[red]failed[/] {name}: {failure}")


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    report = Path(args[0] if args else "reports/boundaries.xml")
    console = Console()
    if not report.exists():
        console.print(f"[red]no report at {report}[/]")
        return 1
    rows = tally(report)
    render(rows, console)
    # A boundary whose tests all skipped proved nothing: that fails too.
    return 1 if not rows or any(row.failed or not row.passed for row in rows.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
