"""Push fan-out: entries of ``gateway:push`` routed to the open subscriptions of their user only."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from galaxy.gateway.domain.errors import ResourceExhausted, ServiceUnavailable, invalid
from galaxy_contracts import redis_keys
from galaxy_contracts.streams import InvalidEntry, validate

log = logging.getLogger(__name__)
_ID = re.compile(r"^(\d{1,20})-(\d{1,20})$")
_MAX = 2**64 - 1


@dataclass(frozen=True, order=True)
class StreamId:
    """A Redis stream entry id; ids order as (milliseconds, sequence)."""

    ms: int
    seq: int

    @classmethod
    def parse(cls, text: str) -> StreamId:
        match = _ID.fullmatch(text)
        if match is None or int(match[1]) > _MAX or int(match[2]) > _MAX:
            raise ValueError(f"not a stream entry id: {text!r}")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.ms}-{self.seq}"


def parse_cursor(resume_after: str) -> StreamId | None:
    """Subscribe's ``resume_after``: empty for "from now", else an event_id the client saw."""
    if not resume_after:
        return None
    try:
        return StreamId.parse(resume_after)
    except ValueError:
        raise invalid("resume_after", "must be an event_id from a PushEvent (<ms>-<seq>), or empty") from None


@dataclass(frozen=True)
class PushEntry:
    event_id: StreamId
    user_id: str
    type: str
    title: str
    body: str
    data_json: str
    created_at: datetime
    intent_id: str


def parse_entry(entry_id: str, fields: Mapping[str, str]) -> PushEntry:
    """An entry checked against contracts/streams/gateway-push.schema.json; ``InvalidEntry`` otherwise."""
    validate(redis_keys.GATEWAY_PUSH, dict(fields))
    try:
        return PushEntry(
            event_id=StreamId.parse(entry_id),
            user_id=fields["user_id"],
            type=fields["type"],
            title=fields["title"],
            body=fields["body"],
            data_json=fields["data"],
            created_at=datetime.fromisoformat(fields["created_at"]),
            intent_id=fields["intent_id"],
        )
    except ValueError as exc:
        raise InvalidEntry(f"{redis_keys.GATEWAY_PUSH}: {entry_id}: {exc}") from None


class _Closed:
    def __init__(self, error: Exception) -> None:
        self.error = error


class Subscription:
    """One open Subscribe stream: a bounded queue of its user's entries."""

    def __init__(self, user_id: str, queue_size: int) -> None:
        self.user_id = user_id
        self._queue: asyncio.Queue[PushEntry | _Closed] = asyncio.Queue(maxsize=queue_size)
        self.closed = False

    def offer(self, entry: PushEntry) -> bool:
        """Queue ``entry``; False (and the subscription closed) when the client is too far behind."""
        try:
            self._queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.close(ResourceExhausted(SLOW_CLIENT))
            return False
        return True

    def close(self, error: Exception) -> None:
        """End the stream with ``error``; buffered entries are dropped (the client resumes from its cursor)."""
        if self.closed:
            return
        self.closed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_Closed(error))

    async def next(self) -> PushEntry:
        item = await self._queue.get()
        if isinstance(item, _Closed):
            self._queue.put_nowait(item)
            raise item.error
        return item


SLOW_CLIENT: Final = "subscription dropped: the client fell too far behind; resubscribe with resume_after"
SHUTTING_DOWN: Final = "shutting down; resubscribe with resume_after"


class PushHub:
    """Every open subscription of this process, by user."""

    def __init__(self, queue_size: int, on_drop: Callable[[], None] = lambda: None) -> None:
        self._queue_size = queue_size
        self._on_drop = on_drop
        self._by_user: dict[str, set[Subscription]] = {}

    @property
    def open_count(self) -> int:
        return sum(len(subs) for subs in self._by_user.values())

    def open(self, user_id: str) -> Subscription:
        subscription = Subscription(user_id, self._queue_size)
        self._by_user.setdefault(user_id, set()).add(subscription)
        return subscription

    def close(self, subscription: Subscription) -> None:
        subs = self._by_user.get(subscription.user_id, set())
        subs.discard(subscription)
        if not subs:
            self._by_user.pop(subscription.user_id, None)

    def dispatch(self, entry_id: str, fields: Mapping[str, str]) -> None:
        """One stream entry to every open subscription of its ``user_id``, and no other."""
        subs = self._by_user.get(fields.get("user_id", ""))
        if not subs:
            return
        try:
            entry = parse_entry(entry_id, fields)
        except InvalidEntry as exc:
            log.warning("skipping a malformed push entry", extra={"entry_id": entry_id, "reason": str(exc)})
            return
        for subscription in list(subs):
            if not subscription.offer(entry):
                self.close(subscription)
                self._on_drop()
                log.warning("dropped a slow push subscriber", extra={"user_id": entry.user_id})

    def shutdown(self) -> None:
        for subs in list(self._by_user.values()):
            for subscription in list(subs):
                subscription.close(ServiceUnavailable("gateway", SHUTTING_DOWN))
