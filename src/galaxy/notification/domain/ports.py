"""The outbound interfaces intent handling needs; adapters implement them, tests swap them."""

from __future__ import annotations

from typing import Protocol

from galaxy.notification.domain.model import DeadLetter, Notification, Outcome, Received, Recipient


class Recipients(Protocol):
    async def get(self, user_id: str) -> Recipient:
        """The recipient's address, locale, name and preferences.

        Raises ``RecipientNotFound`` (no such account) or ``RecipientsUnavailable`` (try again later).
        """


class Outbox(Protocol):
    """Writes the outcome of a delivery and acknowledges it in the same atomic step."""

    async def seen(self, intent_id: str) -> bool:
        """Whether ``intent_id`` was handled before (within the dedupe retention)."""

    async def deliver(self, received: Received, notification: Notification) -> Outcome:
        """Write ``notification``'s entries, mark its intent handled and acknowledge ``received``, atomically.

        ``DELIVERED`` when it wrote; ``DUPLICATE`` (only acknowledged) when the intent was handled before;
        ``LOST_RACE`` (nothing done) when ``received`` is no longer pending: another consumer acknowledged it.
        """

    async def dead_letter(self, dead: DeadLetter) -> bool:
        """Append ``dead`` to the dead-letter stream and acknowledge its entry, atomically.

        False (nothing written) when the entry is no longer pending.
        """

    async def acknowledge(self, received: Received) -> None:
        """Acknowledge without writing anything (a duplicate)."""
