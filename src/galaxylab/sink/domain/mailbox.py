"""The messages the sink keeps (the newest ``limit``), searched and waited for."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from galaxylab.sink.domain.messages import Message, new_message


@dataclass(frozen=True)
class Query:
    """Which messages a search or a wait wants; every given criterion must hold.

    ``to`` / ``sender``: an address (case-insensitive) among the envelope's and the To/Cc (From) headers';
    ``subject`` / ``body``: case-insensitive substring of the subject / of the text or HTML part;
    ``headers``: (name, value) pairs, each an exact value of that header (name case-insensitive);
    ``after``: only messages whose ``seq`` is greater.
    """

    to: str | None = None
    sender: str | None = None
    subject: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    after: int = 0

    def matches(self, message: Message) -> bool:
        return (
            message.seq > self.after
            and (self.to is None or self.to.lower() in message.recipients())
            and (self.sender is None or self.sender.lower() in message.senders())
            and (self.subject is None or self.subject.lower() in (message.parsed.subject or "").lower())
            and all(value in message.parsed.header(name) for name, value in self.headers)
            and (self.body is None or self._in_body(message))
        )

    def _in_body(self, message: Message) -> bool:
        wanted = (self.body or "").lower()
        return any(wanted in (part or "").lower() for part in (message.parsed.text, message.parsed.html))


class WaitTimedOut(Exception):
    def __init__(self, matched: int, wanted: int, seconds: float) -> None:
        super().__init__(f"{matched} of {wanted} matching message(s) within {seconds:g}s")
        self.matched = matched


class Mailbox:
    """The newest ``limit`` messages; older ones are dropped (and counted) as new ones arrive."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._messages: OrderedDict[str, Message] = OrderedDict()
        self._seq = 0
        self.evicted = 0
        self.waiters = 0
        self._changed = asyncio.Condition()

    @property
    def last_seq(self) -> int:
        """The ``seq`` of the latest message received (0 before the first); never goes back."""
        return self._seq

    def __len__(self) -> int:
        return len(self._messages)

    async def add(self, mail_from: str, rcpt_tos: Iterable[str], raw: bytes) -> Message:
        self._seq += 1
        message = new_message(self._seq, mail_from, tuple(rcpt_tos), raw)
        self._messages[message.id] = message
        while len(self._messages) > self.limit:
            self._messages.popitem(last=False)
            self.evicted += 1
        async with self._changed:
            self._changed.notify_all()
        return message

    def get(self, message_id: str) -> Message | None:
        return self._messages.get(message_id)

    def find(self, query: Query, limit: int) -> list[Message]:
        """The newest ``limit`` matching messages, newest first."""
        found: list[Message] = []
        for message in reversed(self._messages.values()):
            if len(found) >= limit:
                break
            if query.matches(message):
                found.append(message)
        return found

    def first(self, query: Query, count: int) -> list[Message]:
        """The oldest ``count`` matching messages, oldest first."""
        found: list[Message] = []
        for message in self._messages.values():
            if len(found) >= count:
                break
            if query.matches(message):
                found.append(message)
        return found

    async def wait(self, query: Query, count: int, seconds: float) -> list[Message]:
        """The first ``count`` matching messages (oldest first) once there are that many, held or arriving;
        ``WaitTimedOut`` if they are not there within ``seconds``."""
        found: list[Message] = []

        def enough() -> bool:
            nonlocal found
            found = self.first(query, count)
            return len(found) >= count

        self.waiters += 1
        try:
            async with asyncio.timeout(seconds), self._changed:
                await self._changed.wait_for(enough)
        except TimeoutError:
            raise WaitTimedOut(len(found), count, seconds) from None
        finally:
            self.waiters -= 1
        return found

    def clear(self) -> None:
        self._messages.clear()
        self.evicted = 0
