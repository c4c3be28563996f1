"""Counting what arrived at the SMTP sink, per recipient and per ``Message-ID``, from its attempts log.

The attempts log (src/galaxylab/sink/README.md "Attempts") records every end of
DATA with its outcome and, when accepted, the message's ``Message-ID``, oldest
first and complete (the message list only shows the newest 1000). A test takes
:func:`attempts_mark` before it acts and counts what came after it; recipients
unique to the test keep other tests' mail out of the count.

"Exactly once" in mail terms: every recipient got one message, and any second
copy is one SMTP itself could not tell apart (a sender that crashed after the
server's ``250``), recognisable by the same ``Message-ID``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from tests.harness.sink import Attempt, SmtpSink

ACCEPTED = "accepted"


async def attempts_mark(sink: SmtpSink) -> int:
    """The newest attempt's ``seq`` (0 when none): pass it as ``after`` to count only what follows."""
    attempts = await sink.attempts()
    return attempts[-1].seq if attempts else 0


@dataclass(frozen=True)
class Arrivals:
    """Accepted transactions per recipient, each with its ``Message-ID``, and the refusals seen."""

    expected: frozenset[str]
    copies: dict[str, Counter[str]] = field(default_factory=dict)
    refused: int = 0

    @property
    def arrived(self) -> set[str]:
        return {r for r, ids in self.copies.items() if ids}

    @property
    def missing(self) -> set[str]:
        return set(self.expected) - self.arrived

    @property
    def transactions(self) -> int:
        return sum(sum(ids.values()) for ids in self.copies.values())

    @property
    def duplicates(self) -> int:
        """Copies beyond the first of each recipient's mail."""
        return self.transactions - len(self.arrived)

    def distinct_messages(self, recipient: str) -> int:
        return len(self.copies.get(recipient, Counter()))

    @property
    def several_messages(self) -> dict[str, list[str]]:
        """Recipients who got two different messages (two ``Message-ID``s): a real duplicate send."""
        return {r: sorted(ids) for r, ids in self.copies.items() if len(ids) > 1}

    def summary(self) -> str:
        return (
            f"expected {len(self.expected)}, arrived {len(self.arrived)}, missing {len(self.missing)}, "
            f"transactions {self.transactions}, duplicate copies {self.duplicates} "
            f"(recipients with different Message-IDs: {len(self.several_messages)}), refusals {self.refused}"
        )


def count(attempts: Iterable[Attempt], recipients: Iterable[str]) -> Arrivals:
    expected = frozenset(r.lower() for r in recipients)
    copies: dict[str, Counter[str]] = defaultdict(Counter)
    refused = 0
    for attempt in attempts:
        mine = [r.lower() for r in attempt.rcpt_tos if r.lower() in expected]
        if not mine:
            continue
        if attempt.outcome != ACCEPTED:
            refused += 1
            continue
        for recipient in mine:
            copies[recipient][attempt.message_id or ""] += 1
    return Arrivals(expected, dict(copies), refused)


async def arrivals(sink: SmtpSink, recipients: Iterable[str], *, after: int) -> Arrivals:
    """What the sink accepted for ``recipients`` since the attempt ``after``."""
    return count(await sink.attempts(after=after), recipients)
