"""Intents as ``notification:intents`` entries, checked against the published schema and catalog."""

from __future__ import annotations

import json

from galaxy.authsession.domain.intents import Intent
from galaxy.authsession.domain.sessions import rfc3339
from galaxy_contracts import redis_keys, streams

PRODUCER = "authsession"
STREAM = redis_keys.NOTIFICATION_INTENTS


def entry(intent: Intent) -> dict[str, str]:
    """The XADD field map; raises streams.InvalidEntry rather than write what consumers would refuse."""
    spec = streams.catalog()["types"].get(intent.type)
    if spec is None:
        raise streams.InvalidEntry(f"{STREAM}: type {intent.type!r} is not in the catalog")
    missing = [name for name in spec.get("params", []) if name not in intent.params]
    if missing:
        raise streams.InvalidEntry(f"{STREAM}: {intent.type} needs params {missing}")
    fields = {
        "intent_id": intent.intent_id,
        "type": intent.type,
        "user_id": intent.user_id,
        "params": json.dumps(intent.params, separators=(",", ":")),
        "occurred_at": rfc3339(intent.occurred_at),
        "producer": PRODUCER,
    }
    streams.validate(STREAM, fields)
    return fields
