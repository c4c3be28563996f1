"""Stream entry schemas and the notification catalog (contracts/streams/)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema
import yaml

from galaxy_contracts import SPEC_DIR
from galaxy_contracts import redis_keys as keys

SCHEMA_FILES = {
    keys.NOTIFICATION_INTENTS: "notification-intent.schema.json",
    keys.GATEWAY_PUSH: "gateway-push.schema.json",
    keys.MAIL_DELIVERIES: "mail-delivery.schema.json",
    keys.NOTIFICATION_INTENTS_DEAD: "dead-letter.schema.json",
    keys.MAIL_DELIVERIES_DEAD: "dead-letter.schema.json",
}


class InvalidEntry(ValueError):
    """A stream entry that does not match its schema."""


@cache
def schema(stream: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SPEC_DIR / "streams" / SCHEMA_FILES[stream]).read_text())
    return loaded


@cache
def _validator(stream: str) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema(stream))
    return cls(schema(stream), format_checker=cls.FORMAT_CHECKER)


def validate(stream: str, fields: dict[str, str]) -> None:
    """Raise InvalidEntry naming the first violation; JSON-typed fields must parse."""
    errors = sorted(_validator(stream).iter_errors(fields), key=lambda e: list(e.path))
    if errors:
        error = errors[0]
        where = ".".join(str(p) for p in error.path) or "entry"
        raise InvalidEntry(f"{stream}: {where}: {error.message}")
    for name, spec in schema(stream)["properties"].items():
        if spec.get("contentMediaType") == "application/json" and name in fields:
            try:
                json.loads(fields[name])
            except ValueError as exc:
                raise InvalidEntry(f"{stream}: {name}: not JSON") from exc


@cache
def catalog() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((SPEC_DIR / "streams" / "catalog.yaml").read_text())
    return loaded


def push_types() -> list[str]:
    return sorted(t for t, spec in catalog()["types"].items() if "push" in spec)


def email_types() -> list[str]:
    return sorted(t for t, spec in catalog()["types"].items() if "email" in spec)
