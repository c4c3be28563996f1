"""The gateway's background loops stop when cancelled, even when a library turns the cancellation into an error.

redis-py sometimes raises ConnectionError/TimeoutError for a cancelled command; a loop that retries on those
errors would then run forever, and the gateway's stop (and every test's teardown) would wait for it forever.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError

from galaxy.gateway.transport.health import HealthReporter
from galaxy.gateway.transport.stream import Consumer

DEADLINE_SECONDS = 5.0


class CancelTurnsIntoAnError:
    """Blocks in every call like a blocking XREAD; a cancellation comes out as ``error``, as redis-py's may."""

    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.calls = 0
        self.waiting = asyncio.Event()

    async def block(self, *_: Any, **__: Any) -> Any:
        self.calls += 1
        self.waiting.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if self.error is None:
                raise
            raise self.error from None

    xrevrange = xread = block


async def stops_when_cancelled(task: asyncio.Task[None], fake: CancelTurnsIntoAnError) -> None:
    await asyncio.wait_for(fake.waiting.wait(), DEADLINE_SECONDS)

    task.cancel()
    try:
        await asyncio.wait({task}, timeout=DEADLINE_SECONDS)  # not wait_for: it would wait on a task that goes on
        assert task.cancelled(), f"still running after {fake.calls} calls"
        assert fake.calls == 1
    finally:  # a loop that went on stops now, so a failure does not hang the test's teardown
        fake.error = None
        task.cancel()
        await asyncio.wait({task}, timeout=DEADLINE_SECONDS)


async def test_the_push_consumer_stops_when_its_cancelled_read_fails() -> None:
    fake = CancelTurnsIntoAnError(RedisConnectionError("Connection closed by server."))
    consumer = Consumer(fake, lambda *_: None)  # type: ignore[arg-type]

    await stops_when_cancelled(asyncio.create_task(consumer.run()), fake)


async def test_the_health_prober_stops_when_its_cancelled_probe_fails() -> None:
    fake = CancelTurnsIntoAnError(RedisConnectionError("Connection closed by server."))
    health = HealthReporter(fake.block, interval=0.01, timeout=DEADLINE_SECONDS)

    await stops_when_cancelled(asyncio.create_task(health.run()), fake)
