"""Every delivery attempt the sink answered (or dropped), so tests can count retries."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel

from galaxylab.sink.domain.faults import Stage

Outcome = Literal["accepted", "refused", "dropped", "abandoned"]


class Attempt(BaseModel):
    """One transaction's end (``stage="data"``) or a faulted RCPT TO (``stage="rcpt"``).

    ``abandoned``: the client left while a delayed reply was pending.
    """

    seq: int
    time: datetime
    stage: Stage
    mail_from: str
    rcpt_tos: list[str]
    size: int | None
    outcome: Outcome
    code: int | None = None
    text: str | None = None
    message_id: str | None = None
    fault_id: str | None = None


class Attempts:
    """The latest ``limit`` attempts, oldest first."""

    def __init__(self, limit: int) -> None:
        self._entries: deque[Attempt] = deque(maxlen=limit)
        self._seq = 0

    def record(self, **fields: Any) -> Attempt:
        self._seq += 1
        attempt = Attempt(seq=self._seq, time=datetime.now(UTC), **fields)
        self._entries.append(attempt)
        return attempt

    @property
    def last_seq(self) -> int:
        """The newest attempt's ``seq`` (0 before the first); it goes on across ``clear``."""
        return self._seq

    def __len__(self) -> int:
        return len(self._entries)

    def all(self, after: int = 0) -> list[Attempt]:
        """Oldest first; only those with a greater ``seq`` than ``after`` (read from the newest end)."""
        newer: list[Attempt] = []
        for attempt in reversed(self._entries):
            if attempt.seq <= after:
                break
            newer.append(attempt)
        newer.reverse()
        return newer

    def clear(self) -> None:
        self._entries.clear()
