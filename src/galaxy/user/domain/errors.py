"""What can go wrong in the account rules, independent of any transport."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base of every error the account rules raise on purpose."""


class Invalid(DomainError):
    """Well-formed input whose values break a rule; ``violations`` maps field path to reason."""

    def __init__(self, violations: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in violations.items()))
        self.violations = dict(violations)


class AccountNotFound(DomainError):
    def __init__(self, user_id: str) -> None:
        super().__init__(f"no account {user_id}")
        self.user_id = user_id


class StaleAccount(DomainError):
    """The account changed between reading it and writing a change computed from it; nothing was written."""

    def __init__(self, user_id: str) -> None:
        super().__init__(f"account {user_id} changed concurrently")
        self.user_id = user_id


class StoreUnavailable(DomainError):
    """The account store could not be reached or timed out; safe to retry."""
