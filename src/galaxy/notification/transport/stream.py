"""The ``notification:intents`` consumer: group ``notification``, one consumer per process.

Each step first reclaims (XAUTOCLAIM) entries left pending longer than the minimum idle time, by this or
any other consumer, then reads new ones (XREADGROUP ``>``). Entries of different users are handled
concurrently, those of one user in stream order, so one slow or failing intent holds up no other user.
Entries are read without decoding and decoded leniently: bytes that are not UTF-8 make an invalid intent
(dead-lettered), never a read that fails forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.client import NEVER_DECODE
from redis.exceptions import RedisError, ResponseError

from galaxy.notification import metrics
from galaxy.notification.domain.model import Outcome, Received
from galaxy.notification.domain.service import Handled, Notifier
from galaxy_contracts import redis_keys

log = logging.getLogger(__name__)
RAW = {NEVER_DECODE: True}
START = "0-0"
MAX_BACKOFF_SECONDS = 2.0
OBSERVE_EVERY_SECONDS = 1.0


class Consumer:
    def __init__(
        self,
        redis: aioredis.Redis,
        notifier: Notifier,
        *,
        consumer_name: str,
        block_ms: int,
        batch: int,
        reclaim_min_idle_ms: int,
        stream: str = redis_keys.NOTIFICATION_INTENTS,
        group: str = redis_keys.NOTIFICATION_GROUP,
        observe_every: float = OBSERVE_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._notifier = notifier
        self.name = consumer_name
        self._block_ms = block_ms
        self._batch = batch
        self._min_idle_ms = reclaim_min_idle_ms
        self._stream = stream
        self._group = group
        self._observe_every = observe_every
        self._clock = clock
        self._cursor = START
        self._group_ready = False
        self._observed_at = -math.inf
        self._stop = asyncio.Event()
        self.last_step: float | None = None
        """When the last step completed (``clock()``); None before the first."""

    # --- the loop -----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Steps until ``stop()``; Redis outages are waited out with a capped backoff."""
        backoff = 0.05
        while not self._stop.is_set():
            try:
                await self.step()
                backoff = 0.05
            except (RedisError, OSError) as exc:
                log.warning("intents stream unavailable; retrying", extra={"reason": type(exc).__name__})
                await self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        log.info("consumer stopped", extra={"consumer": self.name})

    def since_last_step(self) -> float | None:
        """Seconds since the last completed step; None before the first."""
        return None if self.last_step is None else self._clock() - self.last_step

    def stop(self) -> None:
        """The loop ends after its current step (a blocked read returns within BLOCK_MS)."""
        self._stop.set()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def step(self) -> list[Handled]:
        """One round: reclaim, read, handle, observe. Raises RedisError when Redis cannot be reached."""
        if not self._group_ready:
            await self._create_group()
        try:
            reclaimed = await self._reclaim()
            fresh = await self._read(block=not reclaimed)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            log.warning("consumer group missing (stream deleted?); creating it again")
            self._group_ready = False
            return []
        handled = await self._handle(reclaimed + fresh)
        await self._observe()
        self.last_step = self._clock()
        return handled

    # --- reading --------------------------------------------------------------------------------------

    async def _create_group(self) -> None:
        """From id 0: intents written before the first consumer started are handled too."""
        try:
            await self._redis.xgroup_create(self._stream, self._group, id="0", mkstream=True)
            log.info("consumer group created", extra={"stream": self._stream, "group": self._group})
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def _reclaim(self) -> list[Received]:
        reply = await self._redis.execute_command(  # type: ignore[no-untyped-call]
            "XAUTOCLAIM", self._stream, self._group, self.name, self._min_idle_ms, self._cursor,
            "COUNT", self._batch, **RAW,
        )  # fmt: skip
        self._cursor = _text(reply[0])
        claimed = [(_text(entry_id), fields) for entry_id, fields in reply[1]]
        gone = [entry_id for entry_id, fields in claimed if fields is None]
        if gone:  # Redis 6.2 hands back entries trimmed while pending as nil; 7 drops them itself
            await self._redis.xack(self._stream, self._group, *gone)
        live = [(entry_id, fields) for entry_id, fields in claimed if fields is not None]
        if not live:
            return []
        counts = await self._delivery_counts([entry_id for entry_id, _ in live])
        return [Received(i, _decoded(f), counts[i]) for i, f in live if i in counts]

    async def _delivery_counts(self, entry_ids: Sequence[str]) -> dict[str, int]:
        """XPENDING's delivery count of each entry (XAUTOCLAIM has just incremented it)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id in entry_ids:
                pipe.xpending_range(self._stream, self._group, min=entry_id, max=entry_id, count=1)
            replies = await pipe.execute()
        return {str(row["message_id"]): int(row["times_delivered"]) for reply in replies for row in reply}

    async def _read(self, *, block: bool) -> list[Received]:
        blocking = ["BLOCK", self._block_ms] if block else []
        reply = await self._redis.execute_command(  # type: ignore[no-untyped-call]
            "XREADGROUP", "GROUP", self._group, self.name, "COUNT", self._batch, *blocking,
            "STREAMS", self._stream, ">", **RAW,
        )  # fmt: skip
        return [Received(_text(entry_id), _decoded(fields)) for entry_id, fields in _entries(reply)]

    # --- handling -------------------------------------------------------------------------------------

    async def _handle(self, batch: list[Received]) -> list[Handled]:
        per_user: dict[str, list[Received]] = defaultdict(list)
        for received in batch:
            per_user[received.fields.get("user_id", "")].append(received)
        results = await asyncio.gather(*(self._in_order(entries) for entries in per_user.values()))
        return [handled for handled_of_user in results for handled in handled_of_user]

    async def _in_order(self, entries: list[Received]) -> list[Handled]:
        return [await self._one(received) for received in entries]

    async def _one(self, received: Received) -> Handled:
        try:
            handled = await self._notifier.handle(received)
        except Exception:  # one entry's failure must not end the loop; it stays pending
            log.exception("intent handling failed; left pending", extra=_about(received))
            handled = Handled(Outcome.ERROR)
        _record(received, handled)
        return handled

    async def _observe(self) -> None:
        """The group's pending count and lag as gauges, at most once per ``observe_every`` seconds."""
        now = self._clock()
        if now - self._observed_at < self._observe_every:
            return
        self._observed_at = now
        for group in await self._redis.xinfo_groups(self._stream):
            if _text(group["name"]) == self._group:
                metrics.PENDING.set(int(group["pending"]))
                lag = group.get("lag")
                metrics.LAG.set(math.nan if lag is None else int(lag))


def _record(received: Received, handled: Handled) -> None:
    metrics.HANDLED.labels(handled.outcome.value).inc()
    for channel in handled.skipped:
        metrics.SKIPPED.labels(channel.value).inc()
    for channel in handled.written:
        metrics.WRITTEN.labels(channel.value).inc()
    about = _about(received) | {"outcome": handled.outcome.value, "deliveries": received.deliveries}
    if handled.outcome is Outcome.DEAD_LETTERED:
        assert handled.reason is not None
        metrics.DEAD_LETTERED.labels(handled.reason.value).inc()
        log.warning("intent dead-lettered", extra=about | {"reason": handled.reason.value, "detail": handled.detail})
    elif handled.outcome is Outcome.RETRY:
        log.warning("intent left pending for a later delivery", extra=about | {"detail": handled.detail})
    else:
        log.info("intent handled", extra=about | {"skipped": [c.value for c in handled.skipped]})


def _about(received: Received) -> dict[str, Any]:
    fields = received.fields
    return {
        "entry_id": received.entry_id,
        "intent_id": fields.get("intent_id", "")[:64],
        "intent_type": fields.get("type", "")[:128],
        "user_id": fields.get("user_id", "")[:64],
    }


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def _decoded(fields: dict[bytes | str, bytes | str]) -> dict[str, str]:
    return {_text(name): _text(value) for name, value in fields.items()}


def _entries(reply: Any) -> list[tuple[bytes | str, dict[bytes | str, bytes | str]]]:
    """XREADGROUP's reply: a list of [stream, entries] (or a map stream -> entries under RESP3)."""
    if not reply:
        return []
    per_stream = reply.values() if isinstance(reply, dict) else (entries for _, entries in reply)
    return [(entry_id, fields) for entries in per_stream for entry_id, fields in entries]
