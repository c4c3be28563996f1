"""Notification intents appended to ``notification:intents`` after schema validation."""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from galaxy.user.adapters.redis_accounts import unavailable_on_outage
from galaxy.user.domain.accounts import Intent
from galaxy_contracts import redis_keys, streams

PRODUCER = "user"


def entry(intent: Intent) -> dict[str, str]:
    """The stream entry of ``intent``; raises InvalidEntry unless it matches the schema and catalog."""
    fields = {
        "intent_id": intent.intent_id,
        "type": intent.type,
        "user_id": intent.user_id,
        "params": json.dumps(intent.params, separators=(",", ":"), ensure_ascii=False),
        "occurred_at": intent.occurred_at.isoformat(),
        "producer": PRODUCER,
    }
    streams.validate(redis_keys.NOTIFICATION_INTENTS, fields)
    spec = streams.catalog()["types"].get(intent.type)
    if spec is None or set(spec["params"]) - set(intent.params):
        raise streams.InvalidEntry(f"{redis_keys.NOTIFICATION_INTENTS}: {intent.type}: not in the catalog as sent")
    return fields


class RedisIntentPublisher:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def publish(self, intent: Intent) -> None:
        fields = entry(intent)
        with unavailable_on_outage():
            await self._redis.xadd(redis_keys.NOTIFICATION_INTENTS, fields)  # type: ignore[arg-type]
