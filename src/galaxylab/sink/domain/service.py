"""The sink's use cases: what an SMTP transaction gets, with the faults the lab injected."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from galaxylab.sink.domain.attempts import Attempt, Attempts
from galaxylab.sink.domain.faults import Fault, Faults
from galaxylab.sink.domain.mailbox import Mailbox

Record = Callable[..., Attempt]


@dataclass(frozen=True)
class Reply:
    """What the SMTP server answers: ``code`` + ``text``, or nothing at all (``drop``: close the connection)."""

    code: int
    text: str
    drop: bool = False

    @property
    def accepted(self) -> bool:
        return not self.drop and self.code < 400

    @property
    def line(self) -> str:
        return f"{self.code} {self.text}"


DROP = Reply(0, "", drop=True)
RECIPIENT_OK = Reply(250, "2.1.5 OK")


class Sink:
    def __init__(self, mailbox: Mailbox, faults: Faults, attempts: Attempts) -> None:
        self.mailbox = mailbox
        self.faults = faults
        self.attempts = attempts

    async def recipient(self, mail_from: str, address: str) -> Reply:
        """RCPT TO: accepted unless an ``rcpt`` fault concerns ``address`` (then recorded as an attempt)."""
        fault = self.faults.take("rcpt", [address])
        if fault is None:
            return RECIPIENT_OK
        record = partial(
            self.attempts.record, stage="rcpt", mail_from=mail_from, rcpt_tos=[address], size=None, fault_id=fault.id
        )
        await _delay(fault, record)
        return _faulted(fault, record) or _accepted(record, RECIPIENT_OK)

    async def message(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> Reply:
        """End of DATA: the message is kept and acknowledged, unless a ``data`` fault applies."""
        fault = self.faults.take("data", rcpt_tos)
        record = partial(
            self.attempts.record,
            stage="data",
            mail_from=mail_from,
            rcpt_tos=list(rcpt_tos),
            size=len(raw),
            fault_id=fault.id if fault else None,
        )
        if fault is not None:
            await _delay(fault, record)
            refused = _faulted(fault, record)
            if refused is not None:
                return refused
        message = await self.mailbox.add(mail_from, rcpt_tos, raw)
        return _accepted(record, Reply(250, f"2.0.0 OK queued as {message.id}"), message.id)

    def reset(self) -> None:
        self.mailbox.clear()
        self.faults.clear()
        self.attempts.clear()


async def _delay(fault: Fault, record: Record) -> None:
    if not fault.delay_ms:
        return
    try:
        await asyncio.sleep(fault.delay_ms / 1000)
    except asyncio.CancelledError:
        record(outcome="abandoned")
        raise


def _faulted(fault: Fault, record: Record) -> Reply | None:
    if fault.drop:
        record(outcome="dropped")
        return DROP
    if fault.code is not None:
        record(outcome="refused", code=fault.code, text=fault.reply_text)
        return Reply(fault.code, fault.reply_text)
    return None


def _accepted(record: Record, reply: Reply, message_id: str | None = None) -> Reply:
    record(outcome="accepted", code=reply.code, text=reply.text, message_id=message_id)
    return reply
