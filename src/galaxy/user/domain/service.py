"""The operations of User Service, in terms of the account rules and the ports."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

from galaxy.user.domain.errors import AccountNotFound, StaleAccount, StoreUnavailable
from galaxy.user.domain.model import (
    Account,
    Intent,
    ProfileChange,
    account_updated,
    changed_attributes,
    clean_reason,
    require_user_id,
    utcnow,
)
from galaxy.user.domain.ports import AccountStore

log = logging.getLogger(__name__)
MAX_CHANGE_ATTEMPTS = 100
"""Attempts of one change while others of the same account keep coming first (each lost attempt means
another change was written); then the caller gets "unavailable, retry"."""


class Accounts:
    def __init__(self, store: AccountStore, clock: Callable[[], datetime] = utcnow) -> None:
        self._store = store
        self._clock = clock

    async def resolve(self, email: str, locale: str | None = None) -> tuple[Account, bool]:
        account, created = await self._store.create_or_get(Account.new(email, locale, self._clock()))
        if created:
            log.info("account created", extra={"user_id": account.user_id})
        return account, created

    async def get(self, user_id: str) -> Account:
        account = await self._store.get(require_user_id(user_id))
        if account is None:
            raise AccountNotFound(user_id)
        return account

    async def update(self, user_id: str, change: ProfileChange) -> Account:
        require_user_id(user_id)
        change = change.validated()

        def apply(account: Account) -> tuple[Account, Intent | None]:
            updated, paths = account.changed(change, self._clock())
            return updated, (account_updated(updated, paths) if paths else None)

        updated, announced = await self._change(user_id, apply)
        if announced is not None:
            log.info(
                "account updated", extra={"user_id": user_id, "changed_fields": announced.params["changed_fields"]}
            )
        return updated

    async def block(self, user_id: str, reason: str) -> Account:
        require_user_id(user_id)
        reason = clean_reason(reason)
        blocked, _ = await self._change(user_id, lambda account: (account.with_block(reason, self._clock()), None))
        log.info("account blocked", extra={"user_id": user_id})
        return blocked

    async def unblock(self, user_id: str) -> Account:
        unblocked, _ = await self._change(user_id, lambda account: (account.without_block(self._clock()), None))
        log.info("account unblocked", extra={"user_id": user_id})
        return unblocked

    async def _change(
        self, user_id: str, apply: Callable[[Account], tuple[Account, Intent | None]]
    ) -> tuple[Account, Intent | None]:
        """Read the account, compute the change from it and write it only if the account is still as read;
        when another change came first, start over from the new state. So concurrent changes of one
        account are serialised, and each intent names exactly what its change altered."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(StaleAccount), stop=stop_after_attempt(MAX_CHANGE_ATTEMPTS), reraise=True
        )
        try:
            async for attempt in retrying:
                with attempt:
                    before = await self.get(user_id)
                    after, announce = apply(before)
                    attributes = changed_attributes(before, after)
                    if attributes and not await self._store.save(after, attributes, announce, replacing=before):
                        raise AccountNotFound(user_id)
                    return after, (announce if attributes else None)
        except StaleAccount as exc:
            raise StoreUnavailable(f"account changed concurrently {MAX_CHANGE_ATTEMPTS} times in a row") from exc
        raise AssertionError("unreachable: tenacity either returns or raises")
