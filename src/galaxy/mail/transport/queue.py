"""The work-queue runner: up to ``concurrency`` sends at a time, and the housekeeping that moves due
retries back to the queue and reclaims deliveries whose lease ran out."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.exceptions import RedisError

from galaxy.mail import metrics
from galaxy.mail.domain.errors import StoreUnavailable
from galaxy.mail.domain.model import Delivery
from galaxy.mail.domain.service import Dispatcher

log = logging.getLogger(__name__)
STOP_GRACE_SECONDS = 5.0


def stopping() -> bool:
    """This task was asked to stop. A client library may turn the cancellation into its own timeout error
    (a cancel racing a socket timeout); a loop that handles that error must still end."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class Runner:
    def __init__(self, dispatcher: Dispatcher, *, concurrency: int, poll_interval_seconds: float) -> None:
        self._dispatcher = dispatcher
        self._slots = asyncio.Semaphore(concurrency)
        self._poll = poll_interval_seconds
        self._wakeup = asyncio.Event()
        self._sends: set[asyncio.Task[None]] = set()

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wakeup.set()

    async def run(self) -> None:
        """Forever: claim a queued delivery whenever a send slot is free, and send it."""
        await self._reclaim_own()
        while not stopping():
            await self._slots.acquire()
            try:
                delivery = await self._dispatcher.claim()
            except (RedisError, StoreUnavailable) as exc:
                delivery = None
                log.warning("work queue unavailable", extra={"reason": type(exc).__name__})
            if delivery is None:
                self._slots.release()
                await self._idle()
                continue
            task = asyncio.create_task(self._send(delivery))
            self._sends.add(task)
            task.add_done_callback(self._sends.discard)

    async def _send(self, delivery: Delivery) -> None:
        try:
            await self._dispatcher.deliver(delivery)
        except Exception:  # its lease brings it back; the loop must go on
            log.exception(
                "delivery attempt not recorded; retried after its lease", extra={"delivery_id": delivery.delivery_id}
            )
        finally:
            self._slots.release()

    async def _reclaim_own(self) -> None:
        """What this instance held when it stopped (a crash mid-send) goes back on the queue at once."""
        while not stopping():
            try:
                await self._dispatcher.reclaim(own=True)
                return
            except (RedisError, StoreUnavailable) as exc:
                log.warning("work queue unavailable", extra={"reason": type(exc).__name__})
                await asyncio.sleep(self._poll)

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), self._poll)
        self._wakeup.clear()

    async def housekeeping(self) -> None:
        """Forever, every poll interval: due retries to the queue, expired leases reclaimed, gauges refreshed."""
        while not stopping():
            try:
                if await self._dispatcher.move_due() + await self._dispatcher.reclaim():
                    self.wake()
                depths = await self._dispatcher.depths()
                metrics.QUEUE_DEPTH.set(depths.queued)
                metrics.IN_FLIGHT.set(depths.in_flight)
                metrics.DUE_RETRIES.set(depths.due)
            except (RedisError, StoreUnavailable) as exc:
                log.warning("work queue unavailable", extra={"reason": type(exc).__name__})
            await asyncio.sleep(self._poll)

    async def drain(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Give sends in progress ``grace`` seconds; any still running is cancelled (its lease brings it back)."""
        if not self._sends:
            return
        _, pending = await asyncio.wait(set(self._sends), timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
