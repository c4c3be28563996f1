"""What can go wrong while handling an intent, independent of any transport."""

from __future__ import annotations

from galaxy.notification.domain.model import DeadReason


class DomainError(Exception):
    """Base of every error the intent rules raise on purpose."""


class Undeliverable(DomainError):
    """The intent can never be delivered as sent: dead-letter it now with ``reason``."""

    def __init__(self, reason: DeadReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class RecipientNotFound(DomainError):
    def __init__(self, user_id: str) -> None:
        super().__init__(f"no account {user_id}")
        self.user_id = user_id


class RecipientsUnavailable(DomainError):
    """User Service could not answer (down, too slow, 5xx, refused us): worth a later delivery."""
