"""User stub: accounts in memory, with the contract's semantics (contracts/http/user.openapi.yaml)."""

from __future__ import annotations

import secrets
import unicodedata
from datetime import UTC, datetime

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
        account = self.get(user_id)
        changes: dict[str, object] = {}
        if update.display_name is not None:
            changes["display_name"] = clean_display_name(update.display_name)
        if update.locale is not None:
            changes["locale"] = update.locale
        if update.notification_preferences is not None:
            patch = update.notification_preferences.model_dump(exclude_none=True)
            changes["notification_preferences"] = account.notification_preferences.model_copy(update=patch)
        return self._change(account, changes)

    def block(self, user_id: str) -> Account:
        """The contract asks only for a 1-200 character reason; the stub keeps no reason."""
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


def clean_display_name(value: str) -> str:
    return clean_text("display_name", value)


def clean_text(field: str, value: str) -> str:
    """Trimmed, non-blank, without control characters (the contract's rule for a name or a block reason)."""
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):  # anywhere, surrounding white space too
        raise InvalidUpdate(field, "must not contain control characters")
    trimmed = value.strip()
    if not trimmed:
        raise InvalidUpdate(field, "must not be blank")
    return trimmed
