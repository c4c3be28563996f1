"""Stream entry schemas and the notification catalog (contracts/streams/)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from galaxy_contracts import SPEC_DIR
from galaxy_contracts import redis_keys as keys
from galaxy_contracts.entries import InvalidEntry

SCHEMA_FILES = {
    keys.NOTIFICATION_INTENTS: "notification-intent.schema.json",
    keys.GATEWAY_PUSH: "gateway-push.schema.json",
    keys.MAIL_DELIVERIES: "mail-delivery.schema.json",
    keys.NOTIFICATION_INTENTS_DEAD: "dead-letter.schema.json",
    keys.MAIL_DELIVERIES_DEAD: "dead-letter.schema.json",
}

PUSH_MAXLEN = 10_000
"""``gateway:push`` is trimmed by its writer to about this many entries (``XADD ... MAXLEN ~``)."""
RESERVED_PARAM = "recipient"
"""Never an intent param: templates see the recipient under this name."""


__all__ = ["InvalidEntry"]  # raised by validate; defined in galaxy_contracts.entries


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


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PushChannel(_Spec):
    title: str = Field(min_length=1)
    body: str = Field(min_length=1)


class EmailChannel(_Spec):
    template: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class CatalogType(_Spec):
    """One intent type of catalog.yaml: its required params and channels."""

    description: str = ""
    params: tuple[str, ...] = ()
    respects_preferences: bool = False
    push: PushChannel | None = None
    email: EmailChannel | None = None

    @model_validator(mode="after")
    def _coherent(self) -> CatalogType:
        if self.push is None and self.email is None:
            raise ValueError("a type needs a push or an email channel")
        if RESERVED_PARAM in self.params:
            raise ValueError(f"{RESERVED_PARAM!r} is reserved, not a param")
        return self


class Catalog(_Spec):
    version: int = Field(ge=1, le=1)
    types: dict[str, CatalogType]


@cache
def typed_catalog() -> Catalog:
    """catalog.yaml checked and typed (``pydantic.ValidationError`` names what is wrong)."""
    return Catalog.model_validate(catalog())
