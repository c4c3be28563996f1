"""The gateway's background loops stop when cancelled, even when a library swallows the cancellation.

Seen with the Redis client under load: a cancelled command returned as usual, or failed with an ordinary
error; a loop that goes on (or retries) then runs forever, and the gateway's stop (a test's teardown) waits
for it forever.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from galaxy.gateway.transport.health import HealthReporter
from galaxy.gateway.transport.stream import Consumer

DEADLINE_SECONDS = 5.0


SWALLOWED = None
ERROR = RedisConnectionError("Connection closed by server.")


class SwallowsCancellation:
    """Blocks in the first call like a blocking XREAD; a cancellation comes out as ``error`` (or as an answer),
    as the Redis client's may. Later calls answer at once."""

    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.swallow = True
        self.calls = 0
        self.waiting = asyncio.Event()

    async def block(self, *_: Any, **__: Any) -> Any:
        self.calls += 1
        if self.calls > 1:
            await asyncio.sleep(0)
            return []
        self.waiting.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if not self.swallow:
                raise
            if self.error is not None:
                raise self.error from None
        return []

    xrevrange = xread = block


async def stops_when_cancelled(task: asyncio.Task[None], fake: SwallowsCancellation) -> None:
    await asyncio.wait_for(fake.waiting.wait(), DEADLINE_SECONDS)

    task.cancel()
    try:
        await asyncio.wait({task}, timeout=DEADLINE_SECONDS)  # not wait_for: it would wait on a task that goes on
        assert task.cancelled(), f"still running after {fake.calls} calls"
    finally:  # a loop that went on stops now, so a failure does not hang the test's teardown
        fake.swallow = False
        fake.calls = 0
        task.cancel()
        await asyncio.wait({task}, timeout=DEADLINE_SECONDS)


@pytest.mark.parametrize("error", [ERROR, SWALLOWED], ids=["error", "swallowed"])
async def test_the_push_consumer_stops_when_its_read_swallows_the_cancellation(error: Exception | None) -> None:
    fake = SwallowsCancellation(error)
    consumer = Consumer(fake, lambda *_: None)  # type: ignore[arg-type]

    await stops_when_cancelled(asyncio.create_task(consumer.run()), fake)


@pytest.mark.parametrize("error", [ERROR, SWALLOWED], ids=["error", "swallowed"])
async def test_the_health_prober_stops_when_its_probe_swallows_the_cancellation(error: Exception | None) -> None:
    fake = SwallowsCancellation(error)
    health = HealthReporter(fake.block, interval=0.01, timeout=DEADLINE_SECONDS)

    await stops_when_cancelled(asyncio.create_task(health.run()), fake)
