"""Accounts and the rules of how they are created and changed (entities and values; no I/O)."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import TypeVar

from galaxy.user.domain.errors import Invalid
from galaxy_contracts.models import LOCALES

DEFAULT_LOCALE = "en"
DISPLAY_NAME_MAX = 64
REASON_MAX = 200
EMAIL_MAX = 254
USER_ID = re.compile(r"^u_[0-9a-f]{32}$")
ACCOUNT_UPDATED = "account.updated"
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_user_id() -> str:
    return "u_" + secrets.token_hex(16)


def new_intent_id() -> str:
    return "i_" + secrets.token_hex(16)


def require_user_id(user_id: str) -> str:
    if not USER_ID.fullmatch(user_id):
        raise Invalid({"user_id": f"must match {USER_ID.pattern}"})
    return user_id


def normalise_email(email: str) -> str:
    """One spelling per mailbox: surrounding space dropped, compared case-insensitively."""
    normalised = email.strip().lower()
    if len(normalised) > EMAIL_MAX or normalised.count("@") != 1:
        raise Invalid({"email": f"must be one address of at most {EMAIL_MAX} characters"})
    return normalised


def _clean_text(name: str, value: str, limit: int) -> str:
    """Trimmed; refused blank or with a control character anywhere, surrounding white space included (the
    contract's pattern says so: a tab or a newline at either end is a control character too)."""
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise Invalid({name: "must not contain control characters"})
    text = value.strip()
    if not text:
        raise Invalid({name: "must not be blank"})
    if len(text) > limit:
        raise Invalid({name: f"must be at most {limit} characters"})
    return text


def clean_display_name(value: str) -> str:
    return _clean_text("display_name", value, DISPLAY_NAME_MAX)


def clean_reason(value: str) -> str:
    return _clean_text("reason", value, REASON_MAX)


def require_locale(value: str) -> str:
    if value not in LOCALES:
        raise Invalid({"locale": f"must be one of {', '.join(LOCALES)}"})
    return value


@dataclass(frozen=True)
class Preferences:
    email_enabled: bool = True
    push_enabled: bool = True


@dataclass(frozen=True)
class PreferencesChange:
    email_enabled: bool | None = None
    push_enabled: bool | None = None


@dataclass(frozen=True)
class ProfileChange:
    """A partial update: ``None`` means "leave as it is"."""

    display_name: str | None = None
    locale: str | None = None
    preferences: PreferencesChange | None = None

    def validated(self) -> ProfileChange:
        if self.display_name is None and self.locale is None and self.preferences is None:
            raise Invalid({"body": "name at least one field to change"})
        if self.preferences == PreferencesChange():
            raise Invalid({"notification_preferences": "name at least one preference to change"})
        return replace(
            self,
            display_name=None if self.display_name is None else clean_display_name(self.display_name),
            locale=None if self.locale is None else require_locale(self.locale),
        )


@dataclass(frozen=True)
class Account:
    user_id: str
    email: str
    display_name: str
    locale: str
    created_at: datetime
    updated_at: datetime
    preferences: Preferences = field(default_factory=Preferences)
    blocked: bool = False
    block_reason: str = ""

    @classmethod
    def new(cls, email: str, locale: str | None, now: datetime) -> Account:
        address = normalise_email(email)
        local_part = address.rpartition("@")[0]
        return cls(
            user_id=new_user_id(),
            email=address,
            display_name=local_part[:DISPLAY_NAME_MAX] or address[:DISPLAY_NAME_MAX],
            locale=require_locale(locale or DEFAULT_LOCALE),
            created_at=now,
            updated_at=now,
        )

    def changed(self, change: ProfileChange, now: datetime) -> tuple[Account, list[str]]:
        """The account after ``change`` and the public paths of the fields it really altered."""
        prefs = change.preferences or PreferencesChange()
        candidate = replace(
            self,
            display_name=_pick(change.display_name, self.display_name),
            locale=_pick(change.locale, self.locale),
            preferences=Preferences(
                email_enabled=_pick(prefs.email_enabled, self.preferences.email_enabled),
                push_enabled=_pick(prefs.push_enabled, self.preferences.push_enabled),
            ),
        )
        paths = public_paths(self, candidate)
        return (replace(candidate, updated_at=now) if paths else self), paths

    def with_block(self, reason: str, now: datetime) -> Account:
        """Blocked with ``reason``; an already blocked account only gets the new reason."""
        return replace(self, blocked=True, block_reason=reason, updated_at=now if not self.blocked else self.updated_at)

    def without_block(self, now: datetime) -> Account:
        return replace(self, blocked=False, block_reason="", updated_at=now) if self.blocked else self


def _pick(new: T | None, old: T) -> T:
    return old if new is None else new


def changed_attributes(before: Account, after: Account) -> list[str]:
    return [f.name for f in fields(Account) if getattr(before, f.name) != getattr(after, f.name)]


def public_paths(before: Account, after: Account) -> list[str]:
    """Changed fields as the contract names them (``notification_preferences.push_enabled``)."""
    paths = [name for name in ("display_name", "locale") if getattr(before, name) != getattr(after, name)]
    paths += [
        f"notification_preferences.{f.name}"
        for f in fields(Preferences)
        if getattr(before.preferences, f.name) != getattr(after.preferences, f.name)
    ]
    return paths


@dataclass(frozen=True)
class Intent:
    """A notification intent to publish (contracts/streams/notification-intent.schema.json)."""

    type: str
    user_id: str
    params: dict[str, str]
    occurred_at: datetime
    intent_id: str = field(default_factory=new_intent_id)


def account_updated(account: Account, paths: list[str]) -> Intent:
    return Intent(
        type=ACCOUNT_UPDATED,
        user_id=account.user_id,
        params={"changed_fields": ", ".join(paths)},
        occurred_at=account.updated_at,
    )
