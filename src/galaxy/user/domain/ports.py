"""The outbound interfaces the account rules need; adapters implement them, tests swap them."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from galaxy.user.domain.model import Account, Intent


class AccountStore(Protocol):
    async def get(self, user_id: str) -> Account | None:
        """The account, or None when there is none."""

    async def create_or_get(self, candidate: Account) -> tuple[Account, bool]:
        """Atomically: the account of ``candidate.email`` if one exists, else ``candidate`` stored.

        Returns the stored account and whether this call created it.
        """

    async def save(
        self, account: Account, attributes: Collection[str], announce: Intent | None = None, *, replacing: Account
    ) -> bool:
        """Write only ``attributes`` of ``account``, provided the stored account is still exactly ``replacing``
        (the state the change was computed from); False when the account no longer exists.

        Raises ``StaleAccount`` (writing nothing) when the account changed since ``replacing`` was read.
        ``announce`` is appended to ``notification:intents`` in the same atomic step as the
        write, so a change is never stored without its intent nor announced without being stored.
        """
