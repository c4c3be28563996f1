"""What the gateway works with: the account update a field mask names, the login inputs, push entries and
their stream ids, and how long a downstream call may take. No I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from galaxy.gateway.domain.errors import FieldViolation, InvalidArgument, invalid, violations
from galaxy_contracts import redis_keys
from galaxy_contracts.entries import InvalidEntry
from galaxy_contracts.models import CHALLENGE_ID_PATTERN, AccountUpdate, ConfirmRequest, StartChallengeRequest
from galaxy_contracts.push import parse_push

# --- downstream deadlines ------------------------------------------------------------------------

# Of the caller's remaining deadline, the share a downstream call may use, so that the gateway
# still answers UNAVAILABLE (naming the service) before the caller gives up with DEADLINE_EXCEEDED.
CALLER_DEADLINE_SHARE = 0.8


def downstream_budget(configured: float, caller_remaining: float | None) -> float:
    """The smaller of the configured downstream timeout and (most of) the caller's remaining deadline."""
    if caller_remaining is None:
        return configured
    return max(0.0, min(configured, caller_remaining * CALLER_DEADLINE_SHARE))


# --- limits of the public API --------------------------------------------------------------------


@dataclass(frozen=True)
class StartLimit:
    """StartLogin calls one client address may make per fixed window (every call counts, refused ones too)."""

    starts_per_window: int
    window_seconds: int


# --- UpdateMyAccount: the field mask -------------------------------------------------------------

PREFERENCES = "notification_preferences"
PREFERENCE_FIELDS = ("email_enabled", "push_enabled")
ALLOWED_PATHS = ("display_name", "locale", PREFERENCES, *(f"{PREFERENCES}.{f}" for f in PREFERENCE_FIELDS))


@dataclass(frozen=True)
class AccountValues:
    """The values of the request's ``account`` message (proto defaults when unset)."""

    display_name: str = ""
    locale: str = ""
    email_enabled: bool = False
    push_enabled: bool = False


def account_update(paths: Sequence[str], values: AccountValues) -> AccountUpdate:
    """The update naming exactly the masked fields; ``InvalidArgument`` naming any bad path or value."""
    if not paths:
        raise invalid("update_mask", f"name at least one field to update; allowed: {', '.join(ALLOWED_PATHS)}")
    unknown = [p for p in paths if p not in ALLOWED_PATHS]
    if unknown:
        raise InvalidArgument([FieldViolation("update_mask.paths", _unknown(path)) for path in unknown])
    try:
        return AccountUpdate.model_validate(_body(set(paths), values))
    except ValidationError as exc:
        raise violations(exc, prefix="account.") from None


def _unknown(path: str) -> str:
    return f"'{path}' cannot be updated; allowed: {', '.join(ALLOWED_PATHS)}"


def _body(paths: set[str], values: AccountValues) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if "display_name" in paths:
        body["display_name"] = values.display_name
    if "locale" in paths:
        body["locale"] = values.locale
    preferences = {
        field: getattr(values, field)
        for field in PREFERENCE_FIELDS
        if PREFERENCES in paths or f"{PREFERENCES}.{field}" in paths
    }
    if preferences:
        body[PREFERENCES] = preferences
    return body


# --- StartLogin / ConfirmLogin inputs (contracts/http/authsession.openapi.yaml) -------------------


def start_request(email: str, locale: str) -> StartChallengeRequest:
    """An empty locale means the default (``en``)."""
    try:
        return StartChallengeRequest.model_validate({"email": email, "locale": locale or None})
    except ValidationError as exc:
        raise violations(exc) from None


def confirm_request(challenge_id: str, code: str) -> ConfirmRequest:
    found = []
    if not re.fullmatch(CHALLENGE_ID_PATTERN, challenge_id):
        found.append(FieldViolation("challenge_id", "must be the challenge_id StartLogin returned (c_ + 32 hex)"))
    try:
        request = ConfirmRequest(code=code)
    except ValidationError:
        found.append(FieldViolation("code", "must be the 6-digit code from the e-mail"))
    if found:
        raise InvalidArgument(found)
    return request


# --- push entries (gateway:push) -----------------------------------------------------------------

_ID = re.compile(r"^(\d{1,20})-(\d{1,20})$")
_MAX = 2**64 - 1


@dataclass(frozen=True, order=True)
class StreamId:
    """A Redis stream entry id; ids order as (milliseconds, sequence)."""

    ms: int
    seq: int

    @classmethod
    def parse(cls, text: str) -> StreamId:
        match = _ID.fullmatch(text)
        if match is None or int(match[1]) > _MAX or int(match[2]) > _MAX:
            raise ValueError(f"not a stream entry id: {text!r}")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.ms}-{self.seq}"


def parse_cursor(resume_after: str) -> StreamId | None:
    """Subscribe's ``resume_after``: empty for "from now", else an event_id the client saw."""
    if not resume_after:
        return None
    try:
        return StreamId.parse(resume_after)
    except ValueError:
        raise invalid("resume_after", "must be an event_id from a PushEvent (<ms>-<seq>), or empty") from None


@dataclass(frozen=True)
class PushEntry:
    event_id: StreamId
    user_id: str
    type: str
    title: str
    body: str
    data_json: str
    created_at: datetime
    intent_id: str


def parse_entry(entry_id: str, fields: Mapping[str, str]) -> PushEntry:
    """An entry checked against contracts/streams/gateway-push.schema.json (galaxy_contracts.push);
    ``InvalidEntry`` otherwise."""
    checked = parse_push(fields)
    try:
        return PushEntry(
            event_id=StreamId.parse(entry_id),
            user_id=checked.user_id,
            type=checked.type,
            title=checked.title,
            body=checked.body,
            data_json=checked.data,
            created_at=datetime.fromisoformat(checked.created_at),
            intent_id=checked.intent_id,
        )
    except ValueError as exc:
        raise InvalidEntry(f"{redis_keys.GATEWAY_PUSH}: {entry_id}: {exc}") from None
