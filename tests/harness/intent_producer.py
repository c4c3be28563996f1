"""Writing intents to ``notification:intents`` as a producer would (the ``lab`` producer of the stream schema).

Every entry is validated against contracts/streams/notification-intent.schema.json
before it is written; params for a catalog type are made from the catalog's own
list (unique values, so a rendered mail can be matched to its intent), never
hand-listed. Generic: any boundary whose Redis carries the stream.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from galaxy_contracts import redis_keys, streams
from tests.harness.keys import unique_intent_id

PRODUCER = "lab"


def catalog_params(intent_type: str) -> dict[str, str]:
    """A value for every param the catalog requires of ``intent_type``, unique to this call."""
    spec = streams.typed_catalog().types[intent_type]
    return {name: f"{name}-{uuid.uuid4().hex[:8]}" for name in spec.params}


def intent(
    intent_type: str, user_id: str, params: dict[str, Any] | None = None, *, intent_id: str | None = None
) -> dict[str, str]:
    """The stream fields of one intent (schema-checked); params default to :func:`catalog_params`."""
    fields = {
        "intent_id": intent_id or unique_intent_id(),
        "type": intent_type,
        "user_id": user_id,
        "params": json.dumps(catalog_params(intent_type) if params is None else params),
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": PRODUCER,
    }
    streams.validate(redis_keys.NOTIFICATION_INTENTS, fields)
    return fields


async def write(redis: aioredis.Redis, *entries: dict[str, str]) -> list[str]:
    """XADD each entry to ``notification:intents`` in order (one round trip); their stream ids."""
    pipe = redis.pipeline(transaction=False)
    for fields in entries:
        pipe.xadd(redis_keys.NOTIFICATION_INTENTS, fields)  # type: ignore[arg-type]
    return [str(entry_id) for entry_id in await pipe.execute()]
