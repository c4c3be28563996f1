"""The outbox in Redis: side effects, dedupe marker and XACK in one Lua script, so a crash cannot emit twice.

A script runs atomically: either the entry is still pending and everything is written and acknowledged, or
nothing is. The entry's pending state is checked first (``XPENDING``) so a consumer that lost a race to a
reclaiming one writes nothing. Redis does not roll a script back, so everything that could fail a write is
checked before the first one (the output keys are streams), and the ``XACK`` comes last.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

import redis.asyncio as aioredis

from galaxy.notification.domain.model import DeadLetter, Notification, Outcome, Received
from galaxy_contracts import redis_keys, streams

_PENDING = "#redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1) == 1"

DELIVER = """
if not (PENDING) then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  return 0
end
for _, key in ipairs({KEYS[3], KEYS[4]}) do
  local kind = redis.call('TYPE', key).ok
  if kind ~= 'stream' and kind ~= 'none' then return redis.error_reply('WRONGTYPE ' .. key .. ' is a ' .. kind) end
end
local at = 5
local n = tonumber(ARGV[at])
if n > 0 then redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', unpack(ARGV, at + 1, at + n)) end
at = at + n + 1
n = tonumber(ARGV[at])
if n > 0 then redis.call('XADD', KEYS[4], '*', unpack(ARGV, at + 1, at + n)) end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return 1
""".replace("PENDING", _PENDING)

DEAD_LETTER = """
if not (PENDING) then return 0 end
redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return 1
""".replace("PENDING", _PENDING)

_OUTCOMES = {1: Outcome.DELIVERED, 0: Outcome.DUPLICATE, -1: Outcome.LOST_RACE}


def delivered_key(intent_id: str) -> str:
    """The dedupe marker of a handled intent (contracts/redis/keys.md, Notification)."""
    return f"notification:delivered:{intent_id}"


class RedisOutbox:
    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        dedupe_ttl_seconds: int,
        stream: str = redis_keys.NOTIFICATION_INTENTS,
        group: str = redis_keys.NOTIFICATION_GROUP,
        clock: type[datetime] = datetime,
    ) -> None:
        self._redis = redis
        self._ttl = dedupe_ttl_seconds
        self._stream = stream
        self._group = group
        self._clock = clock
        self._deliver = redis.register_script(DELIVER)
        self._dead_letter = redis.register_script(DEAD_LETTER)

    async def seen(self, intent_id: str) -> bool:
        return bool(await self._redis.exists(delivered_key(intent_id)))

    async def acknowledge(self, received: Received) -> None:
        await self._redis.xack(self._stream, self._group, received.entry_id)

    async def deliver(self, received: Received, notification: Notification) -> Outcome:
        dedupe = delivered_key(notification.intent_id)
        keys = [self._stream, dedupe, redis_keys.GATEWAY_PUSH, redis_keys.MAIL_DELIVERIES]
        args: list[str | int] = [self._group, received.entry_id, self._ttl, streams.PUSH_MAXLEN]
        args += _counted(notification.push) + _counted(notification.mail)
        return _OUTCOMES[int(await self._deliver(keys=keys, args=args))]

    async def dead_letter(self, dead: DeadLetter) -> bool:
        fields = {
            "source_stream": self._stream,
            "source_id": dead.received.entry_id,
            "entry": json.dumps(dict(dead.received.fields), separators=(",", ":"), ensure_ascii=False),
            "reason": dead.reason.value,
            "detail": dead.detail,
            "deliveries": str(dead.received.deliveries),
            "dead_at": self._clock.now(UTC).isoformat(),
        }
        streams.validate(redis_keys.NOTIFICATION_INTENTS_DEAD, fields)
        keys = [self._stream, redis_keys.NOTIFICATION_INTENTS_DEAD]
        args = [self._group, dead.received.entry_id, *_flat(fields)]
        return bool(await self._dead_letter(keys=keys, args=args))


def _flat(fields: Mapping[str, str]) -> list[str]:
    return [item for pair in fields.items() for item in pair]


def _counted(fields: Mapping[str, str] | None) -> list[str | int]:
    """Field/value pairs preceded by how many items follow (0: no entry)."""
    flat = _flat(fields or {})
    return [len(flat), *flat]
