"""A bounded login load through the gateway, counted as its clients see it: logins completed, logins lost,
and every error status a client got on the way, with the moment it got it.

Each of ``concurrency`` clients has its own gRPC channel and runs whole logins (StartLogin, the code mailed
to the address, ConfirmLogin, GetMyAccount with the new token) until ``logins`` logins have been taken. A
login that fails with a status in ``retry_on`` starts over, as a real client would, with exponential backoff
and within ``give_up`` seconds; a login that fails with any other status, or runs out of time, is lost.
Every attempt uses a fresh address, so authsession's per-address StartLogin limit never counts a retry and
the first code mailed to an address is the one of its challenge.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Collection
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TypeVar

import grpc
from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential_jitter

from galaxy_contracts.gateway import GatewayClient
from tests.harness.keys import unique_email
from tests.harness.login_codes import CODE_PARAM, TEMPLATE
from tests.harness.stubs import StubControl
from tests.harness.waits import WaitTimeout, until_async

T = TypeVar("T")

# gRPC's default reconnect backoff starts at 1 s and grows to 2 min: a channel that saw the gateway go away
# would keep failing fast for seconds after it is back. A client of this load reconnects within half a second.
CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
)
MAIL_TIMEOUT = 10.0
DEFAULT_TIMEOUT = 5.0  # each call's deadline, as GatewayClient's default
NO_CODE_MAILED = "NO_CODE_MAILED"


@dataclass(frozen=True)
class Seen:
    """One error a client saw: when (``time.monotonic()``), which status (or ``NO_CODE_MAILED``), at which step,
    how long the call took before it ended so and the status's message."""

    at: float
    status: str
    step: str
    took: float = 0.0
    detail: str = ""


@dataclass
class Tally:
    """What the load's clients saw."""

    logins: int
    completed: list[float] = field(default_factory=list)
    retried: int = 0
    errors: list[Seen] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)  # RPCs sent, by step

    @property
    def lost(self) -> int:
        return self.logins - len(self.completed)

    def by_status(self) -> Counter[str]:
        return Counter(seen.status for seen in self.errors)

    def other_than(self, statuses: Collection[grpc.StatusCode]) -> Counter[str]:
        """Errors whose status is not one of ``statuses``, counted by status."""
        names = {status.name for status in statuses}
        return Counter(seen.status for seen in self.errors if seen.status not in names)

    def outside(self, start: float, end: float) -> list[Seen]:
        return [seen for seen in self.errors if not start <= seen.at <= end]

    def completed_after(self, moment: float) -> int:
        return sum(1 for at in self.completed if at > moment)

    def summary(self) -> str:
        errors = ", ".join(f"{status} {count}" for status, count in sorted(self.by_status().items())) or "none"
        return (
            f"{len(self.completed)}/{self.logins} logins completed ({self.retried} after a retry), {self.lost} lost; "
            f"{sum(self.calls.values())} calls sent; errors seen: {errors}"
        )


class MailedCodes:
    """The login code mailed to each address, as the mail stub recorded it, read by one shared poll of the
    stub however many clients wait (one code per address: every attempt has its own)."""

    def __init__(self, stub: StubControl, *, interval: float = 0.1) -> None:
        self._stub = stub
        self._interval = interval
        self._codes: dict[str, str] = {}
        self._read_at = -math.inf
        self._lock = asyncio.Lock()

    async def code(self, email: str, *, within: float = MAIL_TIMEOUT) -> str:
        address = email.lower()

        async def known() -> str:  # "" until mailed
            if address not in self._codes:
                await self._read()
            return self._codes.get(address, "")

        return await until_async(known, within=within, what=f"login code mail to {email}")

    async def _read(self) -> None:
        async with self._lock:
            if time.monotonic() - self._read_at < self._interval:
                return  # another client has just read them
            for delivery in await self._stub.deliveries():
                if delivery.template == TEMPLATE:
                    self._codes.setdefault(delivery.to.lower(), str(delivery.params[CODE_PARAM]))
            self._read_at = time.monotonic()


class LoginLoad:
    """``async with LoginLoad(...) as load``: the clients run from entry; ``await load.finished()`` waits for
    the last login and returns the tally. Leaving the block early stops the clients and closes their channels."""

    def __init__(
        self,
        endpoint: str,
        codes: MailedCodes,
        *,
        logins: int,
        concurrency: int,
        retry_on: Collection[grpc.StatusCode],
        give_up: float,
        timeout: float = DEFAULT_TIMEOUT,
        root_certificates: bytes | None = None,
    ) -> None:
        """``timeout``: each call's client-side deadline; ``root_certificates``: the lab's CA when the
        gateway speaks TLS."""
        self._endpoint = endpoint
        self._timeout = timeout
        self._roots = root_certificates
        self._codes = codes
        self._retry_on = frozenset(retry_on)
        self._give_up = give_up
        self._concurrency = concurrency
        self._taken = 0
        self._tally = Tally(logins)
        self._workers: list[asyncio.Task[None]] = []

    @property
    def completed(self) -> int:
        return len(self._tally.completed)

    @property
    def errors_seen(self) -> int:
        return len(self._tally.errors)

    async def reached(self, count: int, *, within: float) -> None:
        """Until ``count`` logins have completed; a client that crashed fails here at once."""

        async def reached() -> bool:
            for worker in self._workers:
                if worker.done():
                    worker.result()
            return self.completed >= count

        await until_async(reached, within=within, what=f"{count} logins completed")

    async def finished(self, *, within: float) -> Tally:
        done, running = await asyncio.wait(self._workers, timeout=within)
        if running:
            raise WaitTimeout(f"login load: {self._tally.summary()}; still running after {within:g}s")
        for worker in done:
            worker.result()  # a client that crashed (not a status: a bug of the load) fails the test here
        return self._tally

    async def __aenter__(self) -> LoginLoad:
        self._stack = AsyncExitStack()
        for _ in range(self._concurrency):
            client = await self._stack.enter_async_context(
                GatewayClient(
                    self._endpoint, timeout=self._timeout, options=CHANNEL_OPTIONS, root_certificates=self._roots
                )
            )
            self._workers.append(asyncio.create_task(self._client(client)))
        return self

    async def __aexit__(self, *exc: object) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        await self._stack.aclose()

    async def _client(self, gateway: GatewayClient) -> None:
        while self._taken < self._tally.logins:
            self._taken += 1
            await self._login(gateway, self._taken)

    async def _login(self, gateway: GatewayClient, index: int) -> None:
        retrying = AsyncRetrying(
            retry=retry_if_exception(self._may_retry),
            wait=wait_exponential_jitter(multiplier=0.1, max=1.0, jitter=0.1),
            stop=stop_after_delay(self._give_up),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._attempt(gateway, unique_email(f"load-{index}-{attempt.retry_state.attempt_number}"))
        except (grpc.aio.AioRpcError, WaitTimeout):
            return  # lost: counted as logins - completed
        self._tally.completed.append(time.monotonic())
        self._tally.retried += retrying.statistics["attempt_number"] > 1

    def _may_retry(self, error: BaseException) -> bool:
        return isinstance(error, grpc.aio.AioRpcError) and error.code() in self._retry_on

    async def _attempt(self, gateway: GatewayClient, email: str) -> None:
        started = await self._step("StartLogin", gateway.start_login(email))
        try:
            code = await self._codes.code(email)
        except WaitTimeout:
            self._tally.errors.append(Seen(time.monotonic(), NO_CODE_MAILED, "mail"))
            raise
        session = await self._step("ConfirmLogin", gateway.confirm_login(started.challenge_id, code))
        await self._step("GetMyAccount", gateway.get_my_account(session.session_token))

    async def _step(self, step: str, call: Awaitable[T]) -> T:
        self._tally.calls[step] += 1
        sent = time.monotonic()
        try:
            return await call
        except grpc.aio.AioRpcError as error:
            ended = time.monotonic()
            self._tally.errors.append(Seen(ended, error.code().name, step, ended - sent, error.details() or ""))
            raise
