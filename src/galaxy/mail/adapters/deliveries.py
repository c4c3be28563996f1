"""Deliveries in the boundary's Redis (contracts/redis/keys.md, Mail).

Every change that moves a delivery between states is one Lua script (or MULTI), so a crash of this
process or a Redis restart with ``appendfsync always`` between two steps loses nothing: a delivery is
always in exactly one of the work queue, the in-flight list (with a lease), the due set, or ended.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, ReadOnlyError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from galaxy.mail.domain.errors import StoreUnavailable
from galaxy.mail.domain.model import Attempt, DeadLetter, Delivery, MailRequest, Origin, Rendered, Status
from galaxy.mail.domain.ports import Depths
from galaxy_contracts import redis_keys

DELIVERY = "mail:delivery:{}"
ATTEMPTS = "mail:delivery:{}:attempts"
IDEMPOTENCY = "mail:idempotency:{}"
QUEUE = "mail:queue"
PROCESSING = "mail:processing"
LEASES = "mail:leases"
OWNERS = "mail:lease-owners"
DUE = "mail:due"
INDEX = "mail:index"
INDEX_TO = "mail:index:to:{}"
DEAD_MAXLEN = 100_000
SEARCH_PAGE = 100
SEARCH_BUDGET = 10_000
"""At most this many of the newest deliveries are looked at for one search."""
# The error code of a Redis that cannot persist (redis-py has no class of its own for it).
MISCONF = "MISCONF"

# KEYS: idempotency key, delivery hash, queue, index, recipient index, source stream.
# ARGV: delivery id, now (ms), oldest kept (ms), recipient index TTL (s), group, entry id or '', hash items...
_ACCEPT = """
if ARGV[6] ~= '' then redis.call('XACK', KEYS[6], ARGV[5], ARGV[6]) end
local existing = redis.call('GET', KEYS[1])
if existing then return {existing, 0} end
local unpack = unpack or table.unpack
redis.call('HSET', KEYS[2], unpack(ARGV, 7))
redis.call('SET', KEYS[1], ARGV[1])
redis.call('LPUSH', KEYS[3], ARGV[1])
for i = 4, 5 do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. ARGV[3])
end
redis.call('EXPIRE', KEYS[5], ARGV[4])
return {ARGV[1], 1}
"""

# KEYS: queue, processing, leases, owners. ARGV: lease end (ms), owner.
_CLAIM = """
local id = redis.call('RPOPLPUSH', KEYS[1], KEYS[2])
if not id then return false end
redis.call('ZADD', KEYS[3], ARGV[1], id)
redis.call('HSET', KEYS[4], id, ARGV[2])
return id
"""

# KEYS: processing, leases, owners. ARGV: delivery id.
_RELEASE = """
redis.call('LREM', KEYS[1], 0, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
"""

# KEYS: delivery hash, attempts, processing, leases, owners, queue, due, idempotency key, dead stream.
# ARGV: id, attempt JSON, retry at (ms) or '', retention (s) or '', number of hash items, hash items...,
# dead-letter field items (none: no dead letter).
_FINISH = (
    """
local id = ARGV[1]
redis.call('LREM', KEYS[3], 0, id)
redis.call('ZREM', KEYS[4], id)
redis.call('HDEL', KEYS[5], id)
redis.call('LREM', KEYS[6], 0, id)  -- a copy put back by an expired lease: this outcome wins
redis.call('ZREM', KEYS[7], id)
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local unpack = unpack or table.unpack
local n = tonumber(ARGV[5])
redis.call('HSET', KEYS[1], unpack(ARGV, 6, 5 + n))
redis.call('RPUSH', KEYS[2], ARGV[2])
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[7], ARGV[3], id) end
if #ARGV > 5 + n then
  redis.call('XADD', KEYS[9], 'MAXLEN', '~', '"""
    + str(DEAD_MAXLEN)
    + """', '*', unpack(ARGV, 6 + n))
end
if ARGV[4] ~= '' then
  for i = 1, 2 do redis.call('EXPIRE', KEYS[i], ARGV[4]) end
  redis.call('EXPIRE', KEYS[8], ARGV[4])
end
return 1
"""
)

# KEYS: due, queue. ARGV: now (ms), limit.
_MOVE_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('LPUSH', KEYS[2], id)
end
return #ids
"""

# KEYS: processing, leases, owners, queue. ARGV: now (ms), owner or ''.
# Back to the taking end of the queue: a reclaimed delivery is the next one sent.
_RECLAIM = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if ARGV[2] ~= '' then
  local owners = redis.call('HGETALL', KEYS[3])
  for i = 1, #owners, 2 do
    if owners[i + 1] == ARGV[2] then table.insert(ids, owners[i]) end
  end
end
local moved = 0
for _, id in ipairs(ids) do
  if redis.call('LREM', KEYS[1], 0, id) > 0 then
    redis.call('RPUSH', KEYS[4], id)
    moved = moved + 1
  end
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
end
return moved
"""


@contextmanager
def unavailable_on_outage() -> Iterator[None]:
    """Redis down, slow, or refusing writes for now: the store is unavailable (retry later), nothing was stored."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as exc:
        raise StoreUnavailable(type(exc).__name__) from exc
    except ResponseError as exc:
        if not refuses_writes(exc):
            raise
        raise StoreUnavailable(type(exc).__name__) from exc


def refuses_writes(exc: ResponseError) -> bool:
    """Redis answered that it takes no writes at the moment: a disk it cannot write its append-only file to
    (``MISCONF``), ``maxmemory`` reached (``OOM``), a read-only replica (``READONLY``)."""
    return isinstance(exc, OutOfMemoryError | ReadOnlyError) or str(exc).startswith(MISCONF)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _time(value: str) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _pairs(fields: dict[str, str]) -> list[str]:
    return [item for pair in fields.items() for item in pair]


def encode(delivery: Delivery) -> dict[str, str]:
    request, origin, rendered = delivery.request, delivery.origin, delivery.rendered
    return {
        "delivery_id": delivery.delivery_id,
        "to": request.to,
        "template": request.template,
        "locale": request.locale,
        "params": json.dumps(request.params, ensure_ascii=False, separators=(",", ":")),
        "source": origin.source,
        "idempotency_key": origin.idempotency_key,
        "caller": origin.caller,
        "entry_id": origin.entry_id or "",
        "intent_id": origin.intent_id or "",
        "entry": origin.entry or "",
        "subject": rendered.subject,
        "text_body": rendered.text_body,
        "html_body": "" if rendered.html_body is None else rendered.html_body,
        "has_html": "1" if rendered.html_body is not None else "0",
        "message_id": delivery.message_id,
        "fingerprint": delivery.fingerprint,
        "created_at": delivery.created_at.isoformat(),
        "expires_at": delivery.expires_at.isoformat(),
        **state(delivery),
    }


def state(delivery: Delivery) -> dict[str, str]:
    """The fields that change as a delivery is attempted."""
    return {
        "status": delivery.status,
        "attempts": str(delivery.attempts),
        "next_attempt_at": delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else "",
        "last_error": delivery.last_error or "",
    }


def decode(fields: dict[str, str], history: Sequence[str]) -> Delivery:
    created_at = datetime.fromisoformat(fields["created_at"])
    return Delivery(
        delivery_id=fields["delivery_id"],
        status=cast(Status, fields["status"]),
        request=MailRequest(
            to=fields["to"], template=fields["template"], locale=fields["locale"], params=json.loads(fields["params"])
        ),
        origin=Origin(
            source="stream" if fields["source"] == "stream" else "http",
            idempotency_key=fields["idempotency_key"],
            caller=fields.get("caller", ""),
            entry_id=fields.get("entry_id") or None,
            intent_id=fields.get("intent_id") or None,
            entry=fields.get("entry") or None,
        ),
        rendered=Rendered(
            subject=fields["subject"],
            text_body=fields["text_body"],
            html_body=fields["html_body"] if fields.get("has_html") == "1" else None,
        ),
        message_id=fields["message_id"],
        fingerprint=fields["fingerprint"],
        created_at=created_at,
        expires_at=_time(fields.get("expires_at", "")) or created_at,
        attempts=int(fields.get("attempts") or 0),
        next_attempt_at=_time(fields.get("next_attempt_at", "")),
        last_error=fields.get("last_error") or None,
        history=tuple(_attempt(json.loads(item)) for item in history),
    )


def _attempt(item: dict[str, Any]) -> Attempt:
    return Attempt(
        attempt=item["attempt"],
        at=datetime.fromisoformat(item["at"]),
        outcome=item["outcome"],
        detail=item.get("detail"),
    )


def _attempt_json(attempt: Attempt) -> str:
    fields = {
        "attempt": attempt.attempt,
        "at": attempt.at.isoformat(),
        "outcome": attempt.outcome,
        "detail": attempt.detail,
    }
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def dead_fields(letter: DeadLetter) -> dict[str, str]:
    """The ``mail:deliveries:dead`` entry (contracts/streams/dead-letter.schema.json)."""
    return {
        "source_stream": redis_keys.MAIL_DELIVERIES,
        "source_id": letter.source_id,
        "entry": letter.entry,
        "reason": letter.reason,
        "detail": letter.detail,
        "deliveries": str(letter.deliveries),
        "dead_at": letter.dead_at.astimezone(UTC).isoformat(),
    }


class RedisDeliveryStore:
    def __init__(self, redis: aioredis.Redis, *, retention_seconds: float) -> None:
        self._redis = redis
        self._retention = int(retention_seconds)
        self._accept = redis.register_script(_ACCEPT)
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)
        self._finish = redis.register_script(_FINISH)
        self._move_due = redis.register_script(_MOVE_DUE)
        self._reclaim = redis.register_script(_RECLAIM)

    async def accept(self, delivery: Delivery) -> tuple[str, bool]:
        origin = delivery.origin
        keys = [
            IDEMPOTENCY.format(origin.scope),
            DELIVERY.format(delivery.delivery_id),
            QUEUE,
            INDEX,
            INDEX_TO.format(delivery.request.to.lower()),
            redis_keys.MAIL_DELIVERIES,
        ]
        now = _ms(delivery.created_at)
        args: list[str | int] = [
            delivery.delivery_id,
            now,
            now - self._retention * 1000,
            self._retention,
            redis_keys.MAIL_GROUP,
            origin.entry_id or "",
            *_pairs(encode(delivery)),
        ]
        with unavailable_on_outage():
            stored_id, created = await self._accept(keys=keys, args=args)
        return str(stored_id), bool(created)

    async def find(self, scope: str) -> Delivery | None:
        with unavailable_on_outage():
            delivery_id = await self._redis.get(IDEMPOTENCY.format(scope))
        return None if delivery_id is None else await self.get(str(delivery_id))

    async def get(self, delivery_id: str) -> Delivery | None:
        found = await self._many([delivery_id])
        return found[0] if found else None

    async def _many(self, ids: Sequence[str]) -> list[Delivery]:
        """The deliveries of ``ids`` that still exist, in order."""
        pipe = self._redis.pipeline(transaction=False)
        for delivery_id in ids:
            pipe.hgetall(DELIVERY.format(delivery_id))
            pipe.lrange(ATTEMPTS.format(delivery_id), 0, -1)
        with unavailable_on_outage():
            replies = await pipe.execute()
        return [decode(fields, history) for fields, history in zip(replies[::2], replies[1::2], strict=True) if fields]

    async def search(self, to: str | None, template: str | None, status: Status | None, limit: int) -> list[Delivery]:
        index = INDEX_TO.format(to) if to else INDEX
        found: list[Delivery] = []
        for start in range(0, SEARCH_BUDGET, SEARCH_PAGE):
            with unavailable_on_outage():
                ids = cast(list[str], await self._redis.zrevrange(index, start, start + SEARCH_PAGE - 1))
            for delivery in await self._many(ids):
                if (template is None or delivery.request.template == template) and (
                    status is None or delivery.status == status
                ):
                    found.append(delivery)
            if len(found) >= limit or len(ids) < SEARCH_PAGE:
                break
        return found[:limit]

    async def reject_entry(self, letter: DeadLetter) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.xadd(redis_keys.MAIL_DELIVERIES_DEAD, dead_fields(letter), maxlen=DEAD_MAXLEN, approximate=True)  # type: ignore[arg-type]
        pipe.xack(redis_keys.MAIL_DELIVERIES, redis_keys.MAIL_GROUP, letter.source_id)
        with unavailable_on_outage():
            await pipe.execute()

    async def claim(self, owner: str, lease_until: datetime) -> Delivery | None:
        while True:
            with unavailable_on_outage():
                delivery_id = await self._claim(
                    keys=[QUEUE, PROCESSING, LEASES, OWNERS], args=[_ms(lease_until), owner]
                )
            if delivery_id is None:
                return None
            delivery = await self.get(str(delivery_id))
            if delivery is not None:
                return delivery
            await self.release(str(delivery_id))  # its record is gone (retention ended): nothing left to send

    async def release(self, delivery_id: str) -> None:
        with unavailable_on_outage():
            await self._release(keys=[PROCESSING, LEASES, OWNERS], args=[delivery_id])

    async def finish(
        self,
        delivery: Delivery,
        attempt: Attempt,
        *,
        retry_at: datetime | None = None,
        dead: DeadLetter | None = None,
        retention_seconds: float | None = None,
    ) -> None:
        delivery_id = delivery.delivery_id
        keys = [
            DELIVERY.format(delivery_id),
            ATTEMPTS.format(delivery_id),
            PROCESSING,
            LEASES,
            OWNERS,
            QUEUE,
            DUE,
            IDEMPOTENCY.format(delivery.origin.scope),
            redis_keys.MAIL_DELIVERIES_DEAD,
        ]
        items = _pairs(state(delivery))
        args: list[str | int] = [
            delivery_id,
            _attempt_json(attempt),
            "" if retry_at is None else _ms(retry_at),
            "" if retention_seconds is None else int(retention_seconds),
            len(items),
            *items,
            *(_pairs(dead_fields(dead)) if dead else []),
        ]
        with unavailable_on_outage():
            await self._finish(keys=keys, args=args)

    async def move_due(self, now: datetime, limit: int) -> int:
        with unavailable_on_outage():
            return int(await self._move_due(keys=[DUE, QUEUE], args=[_ms(now), limit]))

    async def reclaim(self, now: datetime, owner: str | None = None) -> int:
        with unavailable_on_outage():
            return int(await self._reclaim(keys=[PROCESSING, LEASES, OWNERS, QUEUE], args=[_ms(now), owner or ""]))

    async def depths(self) -> Depths:
        pipe = self._redis.pipeline(transaction=False)
        pipe.llen(QUEUE)
        pipe.llen(PROCESSING)
        pipe.zcard(DUE)
        with unavailable_on_outage():
            queued, in_flight, due = await pipe.execute()
        return Depths(queued=int(queued), in_flight=int(in_flight), due=int(due))
