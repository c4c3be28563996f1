"""Intents on ``notification:intents`` as their producers wrote them (contracts/streams/).

The intent types are the catalog's (contracts/streams/catalog.yaml); the fields
are the stream schema's (``type``, ``user_id``, ``params``, ``producer``, ...).
"""

from __future__ import annotations

import redis.asyncio as aioredis

from galaxy_contracts import redis_keys
from tests.harness import redis as lab_redis

WELCOME = "account.welcome"
UPDATED = "account.updated"
INTENT_TIMEOUT = 5.0


async def the_intent(
    redis: aioredis.Redis, intent_type: str, user_id: str, *, within: float = INTENT_TIMEOUT
) -> dict[str, str]:
    """The one intent of ``intent_type`` for ``user_id`` (waiting for it); none or several fail."""
    stream = redis_keys.NOTIFICATION_INTENTS
    entry = await lab_redis.only_entry(redis, stream, within=within, type=intent_type, user_id=user_id)
    return entry.fields
