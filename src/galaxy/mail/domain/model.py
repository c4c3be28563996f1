"""Deliveries and the values around them."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from galaxy.mail.domain.errors import Invalid

Status = Literal["queued", "retrying", "sent", "recorded", "failed"]
FINAL: frozenset[str] = frozenset({"sent", "recorded", "failed"})
Outcome = Literal["sent", "recorded", "transient_failure", "permanent_failure", "expired", "render_failed"]
Source = Literal["http", "stream"]
DeadReason = Literal[
    "invalid_entry", "poison", "smtp_permanent", "retries_exhausted", "unknown_template", "render_failed"
]
DELIVERY_ID = re.compile(r"^d_[0-9a-f]{32}$")
DEFAULT_LOCALE = "en"
DETAIL_MAX = 1000


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_delivery_id() -> str:
    return "d_" + secrets.token_hex(16)


def require_delivery_id(delivery_id: str) -> str:
    if not DELIVERY_ID.fullmatch(delivery_id):
        raise Invalid({"delivery_id": f"must match {DELIVERY_ID.pattern}"})
    return delivery_id


def one_line(text: str, limit: int = DETAIL_MAX) -> str:
    """A detail fit for a log, a hash field and a dead-letter entry: printable, one line, bounded."""
    cleaned = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


@dataclass(frozen=True)
class MailRequest:
    """What a caller asks for: one templated mail to one address."""

    to: str
    template: str
    locale: str
    params: dict[str, Any]

    def fingerprint(self) -> str:
        """Equal for equal requests: tells a replay from a reused idempotency key."""
        canonical = json.dumps(
            [self.to.lower(), self.template, self.locale, self.params], sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Origin:
    """Where a request came from: the idempotency scope and, for a stream entry, what to dead-letter."""

    source: Source
    idempotency_key: str
    caller: str = ""
    entry_id: str | None = None
    intent_id: str | None = None
    entry: str | None = None
    """The original stream entry as JSON (kept verbatim for a dead letter)."""

    @property
    def scope(self) -> str:
        """One key namespace per HTTP caller (a caller never sees another's delivery) and one for the stream."""
        return (
            f"http:{self.caller}:{self.idempotency_key}" if self.source == "http" else f"stream:{self.idempotency_key}"
        )


@dataclass(frozen=True)
class Rendered:
    subject: str
    text_body: str
    html_body: str | None


@dataclass(frozen=True)
class Attempt:
    attempt: int
    at: datetime
    outcome: Outcome
    detail: str | None = None


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    status: Status
    request: MailRequest
    origin: Origin
    rendered: Rendered
    message_id: str
    fingerprint: str
    created_at: datetime
    expires_at: datetime
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    history: tuple[Attempt, ...] = field(default_factory=tuple)

    @property
    def final(self) -> bool:
        return self.status in FINAL


@dataclass(frozen=True)
class DeadLetter:
    """One ``mail:deliveries:dead`` entry (contracts/streams/dead-letter.schema.json)."""

    source_id: str
    entry: str
    reason: DeadReason
    detail: str
    deliveries: int
    dead_at: datetime


@dataclass(frozen=True)
class RetryPolicy:
    """RFC 5321 §4.5.4.1: retry after the schedule's delays (the last repeats), give up at the lifetime's end."""

    schedule: tuple[float, ...]
    lifetime_seconds: float

    def __post_init__(self) -> None:
        if not self.schedule or min(self.schedule) <= 0 or self.lifetime_seconds <= 0:
            raise ValueError("a retry policy needs positive delays and a positive lifetime")

    def next_attempt(self, failures: int, now: datetime, expires_at: datetime) -> datetime | None:
        """When to try again after ``failures`` failed attempts; None when that would be past ``expires_at``."""
        delay = self.schedule[min(failures, len(self.schedule)) - 1]
        due = now + timedelta(seconds=delay)
        return due if due <= expires_at else None
