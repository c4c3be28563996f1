"""Operator mistakes: one line saying what is wrong and what to do, exit status 2, no traceback."""

from __future__ import annotations

USAGE = 2


class OperatorError(Exception):
    """A mistake the operator can fix; ``code`` is stable for ``--json`` readers."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def line(self) -> str:
        return f"galaxylab: {self.message}"


def unknown_boundaries(unknown: list[str], known: list[str]) -> OperatorError:
    return OperatorError(
        "unknown_boundary",
        f"unknown boundary {', '.join(unknown)} (known: {', '.join(known) or 'none'})",
    )
