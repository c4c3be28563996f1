"""Counting what arrived at the SMTP sink, per recipient and per ``Message-ID``, from its attempts log.

The attempts log (src/galaxylab/sink/README.md "Attempts") records every end of
DATA with its outcome and, when accepted, the id the sink gave the message,
oldest first and complete (the message list only shows the newest 1000). Where a
recipient got more than one copy, each copy's ``Message-ID`` header is read from
the sink to tell a resend of the same message from a second message. A test takes
:func:`attempts_mark` before it acts and counts what came after it; recipients
unique to the test keep other tests' mail out of the count.

"Exactly once" in mail terms: every recipient got one message, and any second
copy is one SMTP itself could not tell apart (a sender that crashed after the
server's ``250``), recognisable by the same ``Message-ID``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from tests.harness.sink import Attempt, SmtpSink

ACCEPTED = "accepted"


async def attempts_mark(sink: SmtpSink) -> int:
    """The newest attempt's ``seq`` (0 when none): pass it as ``after`` to count only what follows."""
    return (await sink.status()).last_attempt_seq


@dataclass(frozen=True)
class Arrivals:
    """Accepted transactions per recipient, each with its ``Message-ID``, and the refusals seen."""

    expected: frozenset[str]
    copies: dict[str, list[str]] = field(default_factory=dict)
    """Per recipient, the sink's ids of the accepted copies."""
    refused: int = 0
    message_ids: dict[str, Counter[str]] = field(default_factory=dict)
    """Per recipient with several copies, how many carried each ``Message-ID`` header."""

    @property
    def arrived(self) -> set[str]:
        return {r for r, ids in self.copies.items() if ids}

    @property
    def missing(self) -> set[str]:
        return set(self.expected) - self.arrived

    @property
    def transactions(self) -> int:
        return sum(len(ids) for ids in self.copies.values())

    @property
    def duplicates(self) -> int:
        """Copies beyond the first of each recipient's mail."""
        return self.transactions - len(self.arrived)

    @property
    def several_messages(self) -> dict[str, list[str]]:
        """Recipients who got two different messages (two ``Message-ID``s): a real duplicate send."""
        return {r: sorted(ids) for r, ids in self.message_ids.items() if len(ids) > 1}

    def summary(self) -> str:
        return (
            f"expected {len(self.expected)}, arrived {len(self.arrived)}, missing {len(self.missing)}, "
            f"transactions {self.transactions}, duplicate copies {self.duplicates} "
            f"(recipients with different Message-IDs: {len(self.several_messages)}), refusals {self.refused}"
        )


def count(attempts: Iterable[Attempt], recipients: Iterable[str]) -> Arrivals:
    expected = frozenset(r.lower() for r in recipients)
    copies: dict[str, list[str]] = defaultdict(list)
    refused = 0
    for attempt in attempts:
        mine = [r.lower() for r in attempt.rcpt_tos if r.lower() in expected]
        if not mine:
            continue
        if attempt.outcome != ACCEPTED:
            refused += 1
            continue
        for recipient in mine:
            copies[recipient].append(attempt.message_id or "")
    return Arrivals(expected, dict(copies), refused)


async def arrivals(sink: SmtpSink, recipients: Iterable[str], *, after: int) -> Arrivals:
    """What the sink accepted for ``recipients`` since the attempt ``after``, with the ``Message-ID`` of each
    copy where a recipient got several."""
    seen = count(await sink.attempts(after=after), recipients)
    message_ids: dict[str, Counter[str]] = {}
    for recipient, ids in seen.copies.items():
        if len(ids) > 1:
            message_ids[recipient] = Counter([(await sink.message(i)).message_id or "" for i in ids])
    return replace(seen, message_ids=message_ids)
