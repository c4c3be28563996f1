"""The operations of User Service, in terms of the account rules and the ports."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from galaxy.user.domain.errors import AccountNotFound
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
        account = await self.get(user_id)
        updated, paths = account.changed(change, self._clock())
        if not paths:
            return account
        await self._save(account, updated, announce=account_updated(updated, paths))
        log.info("account updated", extra={"user_id": user_id, "changed_fields": paths})
        return updated

    async def block(self, user_id: str, reason: str) -> Account:
        require_user_id(user_id)
        reason = clean_reason(reason)
        account = await self.get(user_id)
        blocked = account.with_block(reason, self._clock())
        await self._save(account, blocked)
        log.info("account blocked", extra={"user_id": user_id})
        return blocked

    async def unblock(self, user_id: str) -> Account:
        account = await self.get(user_id)
        unblocked = account.without_block(self._clock())
        await self._save(account, unblocked)
        log.info("account unblocked", extra={"user_id": user_id})
        return unblocked

    async def _save(self, before: Account, after: Account, announce: Intent | None = None) -> None:
        attributes = changed_attributes(before, after)
        if attributes and not await self._store.save(after, attributes, announce):
            raise AccountNotFound(after.user_id)
