"""The gateway's use cases, one per RPC; the transport only translates to and from protobuf."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass

from galaxy.gateway.domain import account, login
from galaxy.gateway.domain.auth import Authenticator
from galaxy.gateway.domain.deadlines import downstream_budget
from galaxy.gateway.domain.errors import ACCOUNT_BLOCKED, FailedPrecondition, PermissionDenied, from_api_error
from galaxy.gateway.domain.ports import AuthSession, PushLog, RawEntry, Users
from galaxy.gateway.domain.push import PushEntry, PushHub, StreamId, parse_cursor, parse_entry
from galaxy_contracts.http import ApiError
from galaxy_contracts.models import Account, Challenge, Session
from galaxy_contracts.streams import InvalidEntry
from galaxy_contracts.tokens import Claims

log = logging.getLogger(__name__)
CHALLENGE_NOT_FOUND = "login challenge not found: unknown, already used or expired; start a new login"
ACCOUNT_NOT_FOUND = "the account of this session no longer exists"
# How often an open Subscribe stream with nothing to deliver re-checks its session.
SESSION_RECHECK_SECONDS = 1.0
REPLAY_PAGE = 500


@dataclass(frozen=True)
class Downstreams:
    authsession: AuthSession
    users: Users
    push_log: PushLog


class Gateway:
    def __init__(
        self, downstreams: Downstreams, authenticator: Authenticator, hub: PushHub, downstream_timeout: float
    ) -> None:
        self._down = downstreams
        self._auth = authenticator
        self._hub = hub
        self._timeout = downstream_timeout

    def _budget(self, remaining: float | None) -> float:
        return downstream_budget(self._timeout, remaining)

    async def authenticate(self, authorization: str | None, remaining: float | None) -> Claims:
        return await self._auth.authenticate(authorization, budget=self._budget(remaining))

    async def start_login(self, email: str, locale: str, remaining: float | None) -> Challenge:
        request = login.start_request(email, locale)
        try:
            return await self._down.authsession.start_challenge(
                str(request.email), request.locale, budget=self._budget(remaining)
            )
        except ApiError as exc:
            raise from_api_error(exc, not_found=CHALLENGE_NOT_FOUND) from None

    async def confirm_login(self, challenge_id: str, code: str, remaining: float | None) -> Session:
        request = login.confirm_request(challenge_id, code)
        try:
            return await self._down.authsession.confirm(challenge_id, request.code, budget=self._budget(remaining))
        except ApiError as exc:
            raise from_api_error(exc, not_found=CHALLENGE_NOT_FOUND) from None

    async def logout(self, claims: Claims, remaining: float | None) -> None:
        try:
            await self._down.authsession.revoke(claims.session_id, budget=self._budget(remaining))
        except ApiError as exc:
            raise from_api_error(exc) from None

    async def my_account(self, claims: Claims, remaining: float | None) -> Account:
        return await self._unblocked_account(claims, remaining)

    async def update_my_account(
        self, claims: Claims, paths: Sequence[str], values: account.AccountValues, remaining: float | None
    ) -> Account:
        """Validated first, then refused for a blocked account before anything is changed."""
        update = account.account_update(paths, values)
        started = time.monotonic()
        await self._unblocked_account(claims, remaining)
        left = None if remaining is None else remaining - (time.monotonic() - started)
        try:
            return await self._down.users.update(claims.user_id, update, budget=self._budget(left))
        except ApiError as exc:
            raise from_api_error(exc, field_prefix="account.", not_found=ACCOUNT_NOT_FOUND) from None

    async def _unblocked_account(self, claims: Claims, remaining: float | None) -> Account:
        """The caller's account; ``PermissionDenied`` when it is blocked (its sessions may predate the block)."""
        try:
            found = await self._down.users.get(claims.user_id, budget=self._budget(remaining))
        except ApiError as exc:
            raise from_api_error(exc, not_found=ACCOUNT_NOT_FOUND) from None
        if found.blocked:
            raise PermissionDenied(ACCOUNT_BLOCKED)
        return found

    async def subscribe(self, claims: Claims, resume_after: str) -> AsyncGenerator[PushEntry, None]:
        """Missed entries after the cursor (replayed from the stream), then live ones: ordered, no gaps or
        duplicates. The subscription opens before the replay reads, so nothing falls between the two."""
        cursor = parse_cursor(resume_after)
        subscription = self._hub.open(claims.user_id)
        try:
            last = cursor
            if cursor is not None:
                async with aclosing(self._replay(claims.user_id, cursor)) as replayed:
                    async for entry in replayed:
                        await self._auth.ensure_active(claims, budget=self._timeout)
                        yield entry
                        last = entry.event_id
            while True:
                try:
                    entry = await asyncio.wait_for(subscription.next(), SESSION_RECHECK_SECONDS)
                except TimeoutError:
                    # An idle stream must not outlive a logout or an expiry either.
                    await self._auth.ensure_active(claims, budget=self._timeout)
                    continue
                if last is not None and entry.event_id <= last:
                    continue
                await self._auth.ensure_active(claims, budget=self._timeout)
                yield entry
                last = entry.event_id
        finally:
            self._hub.close(subscription)

    async def _replay(self, user_id: str, cursor: StreamId) -> AsyncGenerator[PushEntry, None]:
        after = cursor
        while True:
            oldest, page = await self._down.push_log.page_after(str(after), REPLAY_PAGE, budget=self._timeout)
            if oldest is not None and StreamId.parse(oldest) > after:
                raise FailedPrecondition(_too_old(cursor, oldest))
            for entry in _entries_of(user_id, page):
                yield entry
            if len(page) < REPLAY_PAGE:
                return
            after = StreamId.parse(page[-1][0])


def _too_old(cursor: StreamId, oldest: str) -> str:
    return (
        f"resume_after {cursor} is older than the oldest retained push event ({oldest}); "
        "events may have been lost: resync the client's state and subscribe without resume_after"
    )


def _entries_of(user_id: str, page: Sequence[RawEntry]) -> list[PushEntry]:
    entries = []
    for entry_id, fields in page:
        if fields.get("user_id") != user_id:
            continue
        try:
            entries.append(parse_entry(entry_id, fields))
        except InvalidEntry as exc:
            log.warning("skipping a malformed push entry", extra={"entry_id": entry_id, "reason": str(exc)})
    return entries
