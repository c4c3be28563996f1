"""A ``gateway:push`` entry (contracts/streams/gateway-push.schema.json) as a typed model: what a gateway
checks every entry it reads with, without a JSON Schema validator in the process (it costs a gateway
about 3 MiB). tests/unit/contracts/test_push_entry.py proves that this model and the schema accept and
refuse the same entries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from galaxy_contracts.entries import InvalidEntry
from galaxy_contracts.redis_keys import GATEWAY_PUSH


class PushFields(BaseModel):
    """The fields of one entry, as the schema has them (all strings; none missing, none more)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    intent_id: str = Field(pattern=r"^i_[0-9a-f]{32}$")
    type: str
    user_id: str = Field(pattern=r"^u_[0-9a-f]{32}$")
    title: str = Field(max_length=200)
    body: str = Field(max_length=2000)
    data: str
    """JSON (``contentMediaType: application/json``)."""
    created_at: str
    """An ISO 8601 date-time (``format: date-time``)."""

    @field_validator("data")
    @classmethod
    def _json(cls, value: str) -> str:
        try:
            json.loads(value)
        except ValueError:
            raise ValueError("not JSON") from None
        return value

    @field_validator("created_at")
    @classmethod
    def _date_time(cls, value: str) -> str:
        datetime.fromisoformat(value)  # its ValueError names what is wrong
        return value


def parse_push(fields: Mapping[str, object]) -> PushFields:
    """The entry's fields checked; ``InvalidEntry`` naming the first violation otherwise."""
    try:
        return PushFields.model_validate(dict(fields))
    except ValidationError as exc:
        error = min(exc.errors(), key=lambda e: [str(p) for p in e["loc"]])
        where = ".".join(str(p) for p in error["loc"]) or "entry"
        raise InvalidEntry(f"{GATEWAY_PUSH}: {where}: {error['msg']}") from None
