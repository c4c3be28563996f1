"""The notification catalog (contracts/streams/catalog.yaml) as suites use it: types, channels, intents.

Suites parametrize over these lists, never over hand-written type names, so a
type added to the catalog is covered without editing a test. Intents are built
here as any producer would write them (notification-intent.schema.json), with
params made up for the type's required params.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from galaxy_contracts import redis_keys, streams
from galaxy_contracts.models import Account
from galaxy_contracts.streams import CatalogType
from tests.harness.keys import unique_intent_id

Channel = Literal["push", "email"]
CHANNELS: tuple[Channel, ...] = ("push", "email")
# Where each channel's output goes (contracts/redis/keys.md).
OUTPUT_STREAM: dict[Channel, str] = {"push": redis_keys.GATEWAY_PUSH, "email": redis_keys.MAIL_DELIVERIES}
LAB_PRODUCER = "lab"

_TEMPLATES = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)


def spec(intent_type: str) -> CatalogType:
    return streams.typed_catalog().types[intent_type]


def types() -> list[str]:
    return sorted(streams.typed_catalog().types)


def push_types() -> list[str]:
    return [t for t in types() if spec(t).push is not None]


def email_types() -> list[str]:
    return [t for t in types() if spec(t).email is not None]


def channels(intent_type: str) -> list[Channel]:
    """The channels the type is sent on, in ``CHANNELS`` order."""
    found = spec(intent_type)
    return [c for c in CHANNELS if (found.push if c == "push" else found.email) is not None]


def opt_out_cases() -> list[tuple[str, Channel]]:
    """``(type, channel)`` for every channel of every type that respects the recipient's preferences."""
    return [(t, c) for t in types() if spec(t).respects_preferences for c in channels(t)]


def mandatory_cases() -> list[tuple[str, Channel]]:
    """``(type, channel)`` for every channel of every type that ignores the recipient's preferences."""
    return [(t, c) for t in types() if not spec(t).respects_preferences for c in channels(t)]


def sample_params(intent_type: str, *, size: int = 0) -> dict[str, str]:
    """A value for each required param of the type (strings, as the catalog says), unique per call;
    together about ``size`` characters long when given (the schema allows 8 KiB of params)."""
    tag = uuid.uuid4().hex[:8]
    names = spec(intent_type).params
    each = size // max(len(names), 1)
    return {name: f"{name} {tag}".ljust(each, "x") for name in names}


def intent(
    intent_type: str,
    user_id: str,
    *,
    params: Mapping[str, Any] | None = None,
    intent_id: str | None = None,
) -> dict[str, str]:
    """The fields of one intent entry, checked against the stream's schema."""
    fields = {
        "intent_id": intent_id or unique_intent_id(),
        "type": intent_type,
        "user_id": user_id,
        "params": json.dumps(sample_params(intent_type) if params is None else dict(params)),
        "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "producer": LAB_PRODUCER,
    }
    streams.validate(redis_keys.NOTIFICATION_INTENTS, fields)
    return fields


def recipient(account: Account) -> dict[str, str]:
    """What the catalog's templates see as ``recipient`` for an account (catalog.yaml)."""
    return {"display_name": account.display_name, "email": account.email, "locale": account.locale}


def rendered_push(intent_type: str, params: Mapping[str, Any], to: Mapping[str, str]) -> tuple[str, str]:
    """Title and body of the type's push as the catalog's templates say, for ``params`` and recipient ``to``."""
    push = spec(intent_type).push
    assert push is not None, f"{intent_type} has no push channel"
    context = {"params": dict(params), streams.RESERVED_PARAM: dict(to)}
    return _TEMPLATES.from_string(push.title).render(context), _TEMPLATES.from_string(push.body).render(context)
