"""Push subscriptions as a client holds them: the gateway's ``Subscribe`` read in the background.

Generic: it speaks the gateway's published contract (``PushEvent``), nothing of
any boundary. ``PushReader`` keeps every event in arrival order and how the
stream ended; with ``reconnect=True`` it behaves like a well-written client
that resubscribes with the last ``event_id`` it saw whenever the gateway ends
the stream UNAVAILABLE (e.g. while Redis restarts)::

    async with PushReader(gateway, token, resume_after=cursor) as reader:
        await reader.wait_for_intents({intent_id}, within=10)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable

import grpc

from galaxy_contracts.gateway import GatewayClient, bearer, pb
from tests.harness.waits import eventually_async, until_async

RECONNECT_ON = frozenset({grpc.StatusCode.UNAVAILABLE})
RECONNECT_BACKOFF = 0.1


class PushReader:
    """One client's Subscribe stream, read into ``events`` until closed or ended by the gateway."""

    def __init__(self, gateway: GatewayClient, token: str, *, resume_after: str = "", reconnect: bool = False) -> None:
        self._gateway = gateway
        self._token = token
        self._cursor = resume_after
        self._reconnect = reconnect
        self._call: grpc.aio.UnaryStreamCall | None = None
        self._task: asyncio.Task[None] | None = None
        self.events: list[pb.PushEvent] = []
        self.error: grpc.aio.AioRpcError | None = None
        self.reconnects = 0

    async def __aenter__(self) -> PushReader:
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def ids(self) -> list[str]:
        return [e.event_id for e in self.events]

    @property
    def intent_ids(self) -> list[str]:
        return [e.intent_id for e in self.events]

    @property
    def last_id(self) -> str:
        """The cursor to resume from: the last event_id seen (or the one this reader started after)."""
        return self.events[-1].event_id if self.events else self._cursor

    @property
    def ended(self) -> bool:
        return self._task is not None and self._task.done()

    async def close(self) -> None:
        """Disconnect (cancel the call) and stop reading; events seen so far stay."""
        if self._call is not None:
            self._call.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_for(self, check: Callable[[list[pb.PushEvent]], bool], *, within: float, what: str) -> None:
        async def holds() -> bool:
            if check(self.events):
                return True
            if self.ended:
                raise AssertionError(f"{what}: the stream ended ({self._ending()}) after {len(self.events)} events")
            return False

        await until_async(holds, within=within, what=f"{what} ({len(self.events)} events so far)")

    async def wait_for_intents(self, intent_ids: Iterable[str], *, within: float) -> None:
        wanted = set(intent_ids)
        await self.wait_for(
            lambda events: wanted <= {e.intent_id for e in events},
            within=within,
            what=f"push events of {len(wanted)} intents",
        )

    async def wait_ended(self, *, within: float) -> grpc.StatusCode:
        """The status the gateway ended the stream with (``OK`` for a clean end)."""

        async def ended() -> grpc.StatusCode:
            assert self.ended, "the stream is still open"
            return self.error.code() if self.error is not None else grpc.StatusCode.OK

        return await eventually_async(ended, within=within, what="the gateway ends the push stream")

    def _ending(self) -> str:
        return f"{self.error.code().name}: {self.error.details()}" if self.error is not None else "OK"

    async def _read(self) -> None:
        while True:
            self._call = self._gateway.stub.Subscribe(
                pb.SubscribeRequest(resume_after=self.last_id), metadata=bearer(self._token)
            )
            try:
                async for event in self._call:
                    self.events.append(event)
                return
            except grpc.aio.AioRpcError as error:
                if not (self._reconnect and error.code() in RECONNECT_ON):
                    self.error = error
                    return
            self.reconnects += 1
            await asyncio.sleep(RECONNECT_BACKOFF)  # a client's reconnect backoff, not a wait for a condition
