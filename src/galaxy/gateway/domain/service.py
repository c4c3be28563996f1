"""The gateway's use cases, one per RPC (``Gateway``), who the caller is (``Authenticator``) and the push
fan-out to open subscriptions (``PushHub``); the transport only translates to and from protobuf."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from galaxy.gateway.domain import model
from galaxy.gateway.domain.errors import (
    ACCOUNT_BLOCKED,
    FailedPrecondition,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    ServiceUnavailable,
    TooManyStarts,
    TooManySubscriptions,
    Unauthenticated,
    from_api_error,
)
from galaxy.gateway.domain.model import AccountValues, PushEntry, StreamId, downstream_budget, parse_cursor, parse_entry
from galaxy.gateway.domain.ports import AuthSession, LoginStarts, PushLog, PushPage, RawEntry, Sessions, Users
from galaxy_contracts.entries import InvalidEntry
from galaxy_contracts.http import ApiError
from galaxy_contracts.models import Account, Challenge, Session
from galaxy_contracts.tokens import LEEWAY_SECONDS, Claims, InvalidToken, verify

log = logging.getLogger(__name__)
CHALLENGE_NOT_FOUND = "login challenge not found: unknown, already used or expired; start a new login"
ACCOUNT_NOT_FOUND = "the account of this session no longer exists"
# How often an open Subscribe stream with nothing to deliver re-checks its session.
SESSION_RECHECK_SECONDS = 1.0
REPLAY_PAGE = 500
# Where an empty stream ends: the position before any entry.
BEGINNING: Final = StreamId(0, 0)
RESYNC: Final = "resync the client's state and subscribe without resume_after"
BEARER_HINT = "send metadata 'authorization: Bearer <session token>'"


@dataclass(frozen=True)
class Downstreams:
    authsession: AuthSession
    users: Users
    push_log: PushLog
    login_starts: LoginStarts


class Gateway:
    def __init__(
        self,
        downstreams: Downstreams,
        authenticator: Authenticator,
        hub: PushHub,
        downstream_timeout: float,
        start_limit: model.StartLimit,
    ) -> None:
        self._down = downstreams
        self._auth = authenticator
        self._hub = hub
        self._timeout = downstream_timeout
        self._start_limit = start_limit

    def _budget(self, remaining: float | None) -> float:
        return downstream_budget(self._timeout, remaining)

    async def authenticate(self, authorization: str | None, remaining: float | None) -> Claims:
        return await self._auth.authenticate(authorization, budget=self._budget(remaining))

    async def start_login(self, email: str, locale: str, remaining: float | None, client: str) -> Challenge:
        """Counted against ``client``'s StartLogin limit first, whatever the request holds."""
        started = time.monotonic()
        await self._within_start_limit(client, remaining)
        request = model.start_request(email, locale)
        left = None if remaining is None else remaining - (time.monotonic() - started)
        try:
            return await self._down.authsession.start_challenge(
                str(request.email), request.locale, budget=self._budget(left)
            )
        except ApiError as exc:
            raise from_api_error(exc, not_found=CHALLENGE_NOT_FOUND) from None

    async def _within_start_limit(self, client: str, remaining: float | None) -> None:
        limit = self._start_limit
        calls, retry_after = await self._down.login_starts.count(
            client, limit.window_seconds, budget=self._budget(remaining)
        )
        if calls > limit.starts_per_window:
            if calls == limit.starts_per_window + 1:  # once per window, not once per refused call
                log.warning("StartLogin limit reached", extra={"client": client, "window": limit.window_seconds})
            raise TooManyStarts(retry_after)

    async def confirm_login(self, challenge_id: str, code: str, remaining: float | None) -> Session:
        request = model.confirm_request(challenge_id, code)
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
        self, claims: Claims, paths: Sequence[str], values: AccountValues, remaining: float | None
    ) -> Account:
        """Validated first, then refused for a blocked account before anything is changed."""
        update = model.account_update(paths, values)
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
            page = await self._down.push_log.page_after(str(after), REPLAY_PAGE, budget=self._timeout)
            _check_retained(cursor, after, page)
            for entry in _entries_of(user_id, page.entries):
                yield entry
            if len(page.entries) < REPLAY_PAGE:
                return
            after = StreamId.parse(page.entries[-1][0])


def _check_retained(cursor: StreamId, after: StreamId, page: PushPage) -> None:
    """``after`` (the cursor, then the last entry replayed) must lie within the retained stream: an older
    one may have lost events; a newer one was never issued or predates lost data, and the live entries up
    to it would be skipped. ``0-0`` is the newest position of an empty stream."""
    newest = BEGINNING if page.newest is None else StreamId.parse(page.newest)
    if after > newest:
        raise OutOfRange(_ahead(cursor, after, page.newest))
    if page.oldest is not None and StreamId.parse(page.oldest) > after:
        raise FailedPrecondition(_too_old(cursor, page.oldest))


def _too_old(cursor: StreamId, oldest: str) -> str:
    return (
        f"resume_after {cursor} is older than the oldest retained push event ({oldest}); "
        f"events may have been lost: {RESYNC}"
    )


def _ahead(cursor: StreamId, after: StreamId, newest: str | None) -> str:
    shown = newest or "none: the push stream is empty"
    if after != cursor:
        return (
            f"the push stream lost events while resuming after {cursor}: "
            f"its newest event ({shown}) is older than {after}, which the replay had already read; {RESYNC}"
        )
    return (
        f"resume_after {cursor} is newer than the newest retained push event ({shown}): "
        f"the gateway never issued it, or the push stream lost its data since; {RESYNC}"
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


# --- who is calling: the token verified locally, the session checked in Redis on every call -------


class Authenticator:
    def __init__(
        self,
        keys: dict[str, Ed25519PublicKey],
        audience: str,
        sessions: Sessions,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._audience = audience
        self._sessions = sessions
        self._clock = clock

    async def authenticate(self, authorization: str | None, *, budget: float) -> Claims:
        """The caller's claims; ``Unauthenticated`` for a missing, bad or revoked token."""
        claims = self._verify(bearer_token(authorization))
        await self.ensure_active(claims, budget=budget)
        return claims

    async def ensure_active(self, claims: Claims, *, budget: float) -> None:
        """Still acceptable: not expired, and the session exists for this user (redis/keys.md)."""
        if self._clock() > claims.expires_at + LEEWAY_SECONDS:
            raise Unauthenticated("invalid session token: token expired")
        if await self._sessions.user_of(claims.session_id, budget=budget) != claims.user_id:
            raise Unauthenticated("session revoked or expired; log in again")

    def _verify(self, token: str) -> Claims:
        try:
            return verify(token, self._keys, self._audience)
        except InvalidToken as exc:
            raise Unauthenticated(f"invalid session token: {exc}") from None


def bearer_token(authorization: str | None) -> str:
    if authorization is None or not authorization.strip():
        raise Unauthenticated(f"missing session token: {BEARER_HINT}")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(f"malformed authorization metadata: {BEARER_HINT}")
    return token.strip()


# --- push fan-out: entries routed to the open subscriptions of their user only -------------------


class _Closed:
    def __init__(self, error: Exception) -> None:
        self.error = error


class Subscription:
    """One open Subscribe stream: a bounded queue of its user's entries."""

    def __init__(self, user_id: str, queue_size: int) -> None:
        self.user_id = user_id
        self._queue: asyncio.Queue[PushEntry | _Closed] = asyncio.Queue(maxsize=queue_size)
        self.closed = False

    def offer(self, entry: PushEntry) -> bool:
        """Queue ``entry``; False (and the subscription closed) when the client is too far behind."""
        try:
            self._queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.close(ResourceExhausted(SLOW_CLIENT))
            return False
        return True

    def close(self, error: Exception) -> None:
        """End the stream with ``error``; buffered entries are dropped (the client resumes from its cursor)."""
        if self.closed:
            return
        self.closed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_Closed(error))

    async def next(self) -> PushEntry:
        item = await self._queue.get()
        if isinstance(item, _Closed):
            self._queue.put_nowait(item)
            raise item.error
        return item


SLOW_CLIENT: Final = "subscription dropped: the client fell too far behind; resubscribe with resume_after"
SHUTTING_DOWN: Final = "shutting down; resubscribe with resume_after"


class PushHub:
    """Every open subscription of this process, by user."""

    def __init__(
        self, queue_size: int, on_drop: Callable[[], None] = lambda: None, max_per_user: int | None = None
    ) -> None:
        self._queue_size = queue_size
        self._on_drop = on_drop
        self._max_per_user = max_per_user
        self._by_user: dict[str, set[Subscription]] = {}

    @property
    def open_count(self) -> int:
        return sum(len(subs) for subs in self._by_user.values())

    def open(self, user_id: str) -> Subscription:
        """``TooManySubscriptions`` when the user already has ``max_per_user`` open (None: no cap)."""
        subs = self._by_user.setdefault(user_id, set())
        if self._max_per_user is not None and len(subs) >= self._max_per_user:
            raise TooManySubscriptions(self._max_per_user)
        subscription = Subscription(user_id, self._queue_size)
        subs.add(subscription)
        return subscription

    def close(self, subscription: Subscription) -> None:
        subs = self._by_user.get(subscription.user_id, set())
        subs.discard(subscription)
        if not subs:
            self._by_user.pop(subscription.user_id, None)

    def dispatch(self, entry_id: str, fields: Mapping[str, str]) -> None:
        """One stream entry to every open subscription of its ``user_id``, and no other."""
        subs = self._by_user.get(fields.get("user_id", ""))
        if not subs:
            return
        try:
            entry = parse_entry(entry_id, fields)
        except InvalidEntry as exc:
            log.warning("skipping a malformed push entry", extra={"entry_id": entry_id, "reason": str(exc)})
            return
        for subscription in list(subs):
            if not subscription.offer(entry):
                self.close(subscription)
                self._on_drop()
                log.warning("dropped a slow push subscriber", extra={"user_id": entry.user_id})

    def shutdown(self) -> None:
        for subs in list(self._by_user.values()):
            for subscription in list(subs):
                subscription.close(ServiceUnavailable("gateway", SHUTTING_DOWN))
