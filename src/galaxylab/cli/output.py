"""What the operator sees: rich tables and a live view on a terminal, one JSON document with ``--json``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, RenderableType
from rich.live import Live
from rich.table import Table


@dataclass
class Output:
    json: bool = False
    out: Console = field(default_factory=Console)
    err: Console = field(default_factory=lambda: Console(stderr=True))

    def table(self, table: Table) -> None:
        if not self.json:
            self.out.print(table)

    def line(self, text: str) -> None:
        if not self.json:
            self.out.print(text, highlight=False)

    def note(self, text: str) -> None:
        """A remark that is not the result (on stderr, so ``--json`` output stays one document)."""
        self.err.print(text, highlight=False)

    def document(self, data: Any) -> None:
        if self.json:
            sys.stdout.write(json.dumps(data, indent=1, sort_keys=True, default=str) + "\n")

    @contextmanager
    def live(self, first: RenderableType) -> Iterator[Live]:
        """A view that refreshes while work runs (drawn on stderr; nothing when not on a terminal or --json)."""
        live = Live(first, console=self.err, refresh_per_second=4, transient=True)
        if self.json or not self.err.is_terminal:
            yield live
            return
        with live:
            yield live


def verdict(failed: int, passed: int) -> str:
    if failed:
        return "[red]FAIL[/]"
    return "[green]PASS[/]" if passed else "[yellow]SKIP[/]"
