"""Intents, recipients and what handling one produces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    PUSH = "push"
    EMAIL = "email"


class DeadReason(StrEnum):
    """Values of the dead-letter schema's ``reason`` that Notification Service writes."""

    INVALID_ENTRY = "invalid_entry"
    UNKNOWN_TYPE = "unknown_type"
    USER_NOT_FOUND = "user_not_found"
    RENDER_FAILED = "render_failed"
    POISON = "poison"


class Outcome(StrEnum):
    """What became of one delivery of an intent (the ``outcome`` label of the handled counter)."""

    DELIVERED = "delivered"
    """Its push and/or mail written (or every channel switched off by preference), acknowledged."""
    DUPLICATE = "duplicate"
    """Its intent_id was handled before: acknowledged, nothing written."""
    DEAD_LETTERED = "dead_lettered"
    RETRY = "retry"
    """Left pending for a later delivery (User Service unavailable)."""
    LOST_RACE = "lost_race"
    """Another consumer acknowledged the entry first (it was reclaimed while this one worked on it)."""
    ERROR = "error"
    """An unexpected failure (Redis down, a bug): left pending like a retry, logged with its traceback."""


@dataclass(frozen=True)
class Received:
    """One delivery of a ``notification:intents`` entry to this consumer."""

    entry_id: str
    fields: Mapping[str, str]
    deliveries: int = 1


@dataclass(frozen=True)
class Intent:
    intent_id: str
    type: str
    user_id: str
    params: Mapping[str, Any]
    occurred_at: datetime
    producer: str


@dataclass(frozen=True)
class Recipient:
    user_id: str
    email: str
    display_name: str
    locale: str
    push_enabled: bool = True
    email_enabled: bool = True

    def wants(self, channel: Channel) -> bool:
        return self.push_enabled if channel is Channel.PUSH else self.email_enabled

    def context(self) -> dict[str, str]:
        """What templates see as ``recipient``."""
        return {"display_name": self.display_name, "email": self.email, "locale": self.locale}


@dataclass(frozen=True)
class Notification:
    """The side effects of one intent: stream entries (field maps, all strings) to write together."""

    intent_id: str
    push: Mapping[str, str] | None = None
    mail: Mapping[str, str] | None = None
    skipped: tuple[Channel, ...] = field(default=())

    @property
    def channels(self) -> tuple[Channel, ...]:
        """The channels this notification writes an entry for."""
        return tuple(c for c, fields in ((Channel.PUSH, self.push), (Channel.EMAIL, self.mail)) if fields)


@dataclass(frozen=True)
class DeadLetter:
    received: Received
    reason: DeadReason
    detail: str
