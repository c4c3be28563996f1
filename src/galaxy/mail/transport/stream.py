"""The ``mail:deliveries`` consumer (group ``mail``): each entry becomes a delivery or a dead letter.

An entry is acknowledged in the same atomic step that stores its delivery (or its dead letter), so a
crash mid-handling leaves it pending: this instance reads its own pending entries again at start, and
any instance claims entries idle longer than the reclaim time (XAUTOCLAIM). An entry that keeps failing
is dead-lettered as ``poison`` once it has been delivered more than the allowed number of times.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import RedisError, ResponseError

from galaxy.mail.domain.errors import (
    IdempotencyKeyReused,
    Invalid,
    MissingParams,
    RenderFailed,
    StoreUnavailable,
    UnknownTemplate,
)
from galaxy.mail.domain.model import MailRequest, Origin
from galaxy.mail.domain.service import Deliveries
from galaxy.mail.transport.queue import stopping
from galaxy_contracts import redis_keys, streams
from galaxy_contracts.models import DeliveryRequest

log = logging.getLogger(__name__)
STREAM = redis_keys.MAIL_DELIVERIES
GROUP = redis_keys.MAIL_GROUP
BATCH = 50
Entry = tuple[str, dict[str, str]]


def parse_entry(entry_id: str, fields: dict[str, str]) -> tuple[MailRequest, Origin]:
    """The request an entry makes; ``streams.InvalidEntry`` naming what is wrong otherwise."""
    streams.validate(STREAM, fields)
    params = json.loads(fields["params"])
    if not isinstance(params, dict):
        raise streams.InvalidEntry(f"{STREAM}: params: not a JSON object")
    try:
        body = DeliveryRequest.model_validate(
            {"to": fields["to"], "template": fields["template"], "locale": fields["locale"], "params": params}
        )
    except ValidationError as exc:
        where = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        raise streams.InvalidEntry(f"{STREAM}: invalid {where}") from None
    origin = Origin(
        "stream",
        fields["idempotency_key"],
        entry_id=entry_id,
        intent_id=fields["intent_id"],
        entry=json.dumps(fields, ensure_ascii=False, sort_keys=True),
    )
    return MailRequest(to=body.to, template=body.template, locale=body.locale, params=body.params), origin


class Consumer:
    def __init__(
        self,
        redis: aioredis.Redis,
        deliveries: Deliveries,
        *,
        name: str,
        block_seconds: float,
        reclaim_idle_seconds: float,
        max_deliveries: int,
    ) -> None:
        self._redis = redis
        self._deliveries = deliveries
        self._name = name
        self._block = block_seconds
        self._idle_ms = max(1, int(reclaim_idle_seconds * 1000))
        self._reclaim_every = reclaim_idle_seconds / 2
        self._max_deliveries = max_deliveries

    async def run(self) -> None:
        """Forever: own pending entries first, then new ones, reclaiming idle ones now and then."""
        ready = False
        next_reclaim = 0.0
        while not stopping():
            try:
                if not ready:
                    await self.ensure_group()
                    await self.read(pending=True)
                    ready = True
                if time.monotonic() >= next_reclaim:
                    await self.reclaim()
                    next_reclaim = time.monotonic() + self._reclaim_every
                await self.read()
            except (RedisError, StoreUnavailable) as exc:
                log.warning("stream consumer waiting for Redis", extra={"reason": type(exc).__name__})
                await asyncio.sleep(self._block)

    async def ensure_group(self) -> None:
        """Group ``mail`` from the stream's start (entries written before Mail first ran are not skipped)."""
        try:
            await self._redis.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, *, pending: bool = False) -> int:
        """One batch: this consumer's own pending entries (``pending``) or new ones (blocking up to the block
        time). Returns how many were handled."""
        started = time.monotonic()
        reply: Any = await self._redis.xreadgroup(
            GROUP,
            self._name,
            {STREAM: "0" if pending else ">"},
            count=BATCH,
            block=None if pending else int(self._block * 1000),
        )
        entries: list[Any] = reply[0][1] if reply else []  # RESP2: [[stream, entries]]
        await self._handle_all(entries)
        if not entries and not pending:  # a server that answers before the block time must not make this spin
            await asyncio.sleep(max(0.0, self._block - (time.monotonic() - started)))
        return len(entries)

    async def reclaim(self) -> int:
        """Claim entries idle longer than the reclaim time from any consumer (a crashed one) and handle them."""
        cursor, handled = "0-0", 0
        while True:
            reply = await self._redis.xautoclaim(STREAM, GROUP, self._name, self._idle_ms, cursor, count=BATCH)
            cursor, entries = reply[0], reply[1]
            if entries:
                log.info("idle stream entries reclaimed", extra={"count": len(entries)})
            await self._handle_all(entries)
            handled += len(entries)
            if cursor in ("0-0", b"0-0"):
                return handled

    async def _handle_all(self, entries: Sequence[Any]) -> None:
        counts = await self._delivery_counts([entry_id for entry_id, _ in entries])
        for entry_id, fields in entries:
            await self.handle(entry_id, dict(fields or {}), counts.get(entry_id, 1))

    async def _delivery_counts(self, ids: Sequence[str]) -> dict[str, int]:
        if not ids:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for entry_id in ids:
            pipe.xpending_range(STREAM, GROUP, min=entry_id, max=entry_id, count=1)
        replies = await pipe.execute()
        return {row["message_id"]: int(row["times_delivered"]) for reply in replies for row in reply}

    async def handle(self, entry_id: str, fields: dict[str, str], deliveries: int) -> None:
        """Stored as a delivery or dead-lettered, either way acknowledged; left pending only when Redis fails
        (or on a bug: then the delivery count makes it ``poison`` in the end)."""
        if not fields:  # trimmed from the stream while pending: nothing left to deliver
            await self._redis.xack(STREAM, GROUP, entry_id)
            return
        if deliveries > self._max_deliveries:
            detail = f"delivered {deliveries} times without being handled"
            await self._deliveries.reject_entry(entry_id, fields, "poison", detail, deliveries)
            return
        try:
            await self._deliver(entry_id, fields, deliveries)
        except (RedisError, StoreUnavailable):
            raise
        except Exception:
            log.exception("stream entry not handled; left pending", extra={"entry_id": entry_id})

    async def _deliver(self, entry_id: str, fields: dict[str, str], deliveries: int) -> None:
        reject = self._deliveries.reject_entry
        try:
            request, origin = parse_entry(entry_id, fields)
            await self._deliveries.submit(request, origin)
        except streams.InvalidEntry as exc:
            await reject(entry_id, fields, "invalid_entry", str(exc), deliveries)
        except UnknownTemplate as exc:
            await reject(entry_id, fields, "unknown_template", str(exc), deliveries)
        except (MissingParams, RenderFailed) as exc:
            await reject(entry_id, fields, "render_failed", str(exc), deliveries)
        except IdempotencyKeyReused as exc:
            await reject(entry_id, fields, "invalid_entry", str(exc), deliveries)
        except Invalid as exc:
            await reject(entry_id, fields, "invalid_entry", str(exc), deliveries)
