"""The welcome outbox relay: a background loop that settles, every interval, the welcome notes a confirm left
behind (``LoginService.relay_welcomes``; keys in contracts/redis/keys.md)."""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential

from galaxy.authsession.domain.service import LoginService
from galaxy.common.serve import stop_requested

log = logging.getLogger(__name__)


class Relay:
    """Runs until cancelled; survives Redis outages (each pass is retried with a capped exponential backoff).

    ``running`` is true from the start of ``run`` until it ends: the admin port's readiness check."""

    def __init__(self, login: LoginService, *, interval_seconds: float, first_backoff_seconds: float = 0.05) -> None:
        self._login = login
        self._interval = interval_seconds
        self._first_backoff = first_backoff_seconds
        self.running = False

    async def run(self) -> None:
        self.running = True
        try:
            while not stop_requested():
                try:
                    await self.relay_once()
                except Exception:  # a fault in one pass must not stop logins; the notes stay
                    log.exception("welcome relay pass failed")
                await asyncio.sleep(self._interval)
        finally:
            self.running = False
        raise asyncio.CancelledError

    async def relay_once(self) -> int:
        """One pass, retried while Redis fails (never once a stop is requested): how many notes it settled."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(_retryable),
            wait=wait_exponential(multiplier=self._first_backoff, max=self._interval),
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            return await retrying(self._login.relay_welcomes)
        except (RedisError, OSError) as exc:
            if stop_requested():
                raise asyncio.CancelledError from exc
            raise

    async def alive(self) -> None:
        """Readiness: raises unless the loop is running."""
        if not self.running:
            raise RuntimeError("welcome relay not running")


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, (RedisError, OSError)) and not stop_requested()


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning(
        "welcome relay pass failed; retrying",
        extra={"reason": type(exc).__name__, "attempt": state.attempt_number},
    )
