"""Notification intents as ``notification:intents`` entries, validated before they are written.

The account store appends them in the same atomic step as the change they announce.
"""

from __future__ import annotations

import json

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
