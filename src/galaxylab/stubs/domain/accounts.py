"""User stub: accounts in memory, with the contract's semantics (contracts/http/user.openapi.yaml).

Every operation checks its input before it looks the account up, in User Service's order, so an unknown
id with an invalid change is a 422 here as there (the parity tests in tests/unit/doubles hold both to it).
"""

from __future__ import annotations

import secrets
import unicodedata
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from galaxy_contracts.models import (
    USER_ID_PATTERN,
    Account,
    AccountUpdate,
    EmailStr,
    Locale,
    NotificationPreferences,
)

DISPLAY_NAME_MAX = 64
REASON_MAX = 200


class AccountNotFound(Exception):
    pass


class AccountConflict(Exception):
    pass


class InvalidUpdate(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class AccountSeed(BaseModel):
    """An account the lab puts in place before a scenario (``POST /_control/accounts``)."""

    model_config = ConfigDict(extra="forbid")

    # The contract's e-mail rule (galaxy_contracts.models), as User Service applies it: `.test` is allowed.
    email: EmailStr = Field(max_length=254)
    user_id: str | None = Field(default=None, pattern=USER_ID_PATTERN)
    display_name: str | None = Field(default=None, max_length=DISPLAY_NAME_MAX)
    locale: Locale = "en"
    notification_preferences: NotificationPreferences = Field(default_factory=NotificationPreferences)
    blocked: bool = False


class AccountStore:
    """Accounts by id, found by normalised e-mail.

    Every operation runs without awaiting, so on one event loop a new e-mail
    is created exactly once however many resolves race for it.
    """

    def __init__(self) -> None:
        self._by_id: dict[str, Account] = {}
        self._by_email: dict[str, str] = {}

    def resolve(self, email: str, locale: Locale | None) -> tuple[Account, bool]:
        address = normalise_email(email)
        existing = self._by_email.get(address)
        if existing is not None:
            return self._by_id[existing], False
        return self._insert(AccountSeed(email=address, locale=locale or "en")), True

    def seed(self, seed: AccountSeed) -> Account:
        if normalise_email(seed.email) in self._by_email:
            raise AccountConflict(f"an account for {seed.email} exists")
        if seed.user_id is not None and seed.user_id in self._by_id:
            raise AccountConflict(f"account {seed.user_id} exists")
        return self._insert(seed)

    def get(self, user_id: str) -> Account:
        account = self._by_id.get(user_id)
        if account is None:
            raise AccountNotFound(user_id)
        return account

    def update(self, user_id: str, update: AccountUpdate) -> Account:
        changes = validated_changes(update)
        account = self.get(user_id)
        if "notification_preferences" in changes:
            patch = changes["notification_preferences"]
            changes["notification_preferences"] = account.notification_preferences.model_copy(update=patch)
        return self._change(account, changes)

    def block(self, user_id: str, reason: str) -> Account:
        """The reason must be a non-blank line of at most 200 characters; the stub does not keep it."""
        clean_text("reason", reason, REASON_MAX)
        return self._change(self.get(user_id), {"blocked": True})

    def unblock(self, user_id: str) -> Account:
        return self._change(self.get(user_id), {"blocked": False})

    def all(self) -> list[Account]:
        return list(self._by_id.values())

    def clear(self) -> None:
        self._by_id.clear()
        self._by_email.clear()

    def _insert(self, seed: AccountSeed) -> Account:
        now = datetime.now(UTC)
        email = normalise_email(seed.email)
        account = Account(
            user_id=seed.user_id or f"u_{secrets.token_hex(16)}",
            email=email,
            display_name=default_display_name(email) if seed.display_name is None else seed.display_name,
            locale=seed.locale,
            notification_preferences=seed.notification_preferences,
            blocked=seed.blocked,
            created_at=now,
            updated_at=now,
        )
        self._by_id[account.user_id] = account
        self._by_email[account.email] = account.user_id
        return account

    def _change(self, account: Account, changes: dict[str, object]) -> Account:
        if all(getattr(account, field) == value for field, value in changes.items()):
            return account
        changed = account.model_copy(update=changes | {"updated_at": datetime.now(UTC)})
        self._by_id[account.user_id] = changed
        return changed


def normalise_email(email: str) -> str:
    """One spelling per mailbox, as User Service keeps it: trimmed, lower case."""
    return email.strip().lower()


def default_display_name(email: str) -> str:
    """A new account's name until the user sets one: the address's local part."""
    return email.rpartition("@")[0][:DISPLAY_NAME_MAX] or email[:DISPLAY_NAME_MAX]


def validated_changes(update: AccountUpdate) -> dict[str, Any]:
    """The fields an update sets, checked as User Service checks them: at least one field, at least one
    preference when ``notification_preferences`` is given, a trimmed display name without control characters."""
    if not update.model_fields_set:
        raise InvalidUpdate("body", "name at least one field to change")
    changes: dict[str, Any] = {}
    if update.notification_preferences is not None:
        patch = update.notification_preferences.model_dump(exclude_unset=True)
        if not patch:
            raise InvalidUpdate("notification_preferences", "name at least one preference to change")
        changes["notification_preferences"] = patch
    if update.display_name is not None:
        changes["display_name"] = clean_text("display_name", update.display_name, DISPLAY_NAME_MAX)
    if update.locale is not None:
        changes["locale"] = update.locale
    return changes


def clean_text(field: str, value: str, limit: int) -> str:
    """Trimmed, non-blank, at most ``limit`` characters, without control characters (the contract's rule)."""
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):  # anywhere, surrounding white space too
        raise InvalidUpdate(field, "must not contain control characters")
    trimmed = value.strip()
    if not trimmed:
        raise InvalidUpdate(field, "must not be blank")
    if len(trimmed) > limit:
        raise InvalidUpdate(field, f"must be at most {limit} characters")
    return trimmed
