"""What a ``galaxylab`` run printed and how it ended, as the CLI's end-to-end and multi-host tests read it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def document(self) -> Any:
        """The ``--json`` document on stdout."""
        return json.loads(self.out)

    def explain(self) -> str:
        """Exit status and the ends of both outputs, for an assertion message."""
        return f"exit {self.code}\n{self.out[-3000:]}\n{self.err[-3000:]}"
