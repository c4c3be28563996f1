"""``PushLog`` in Redis: the replay window of ``gateway:push`` for resuming clients."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis

from galaxy.gateway.adapters._downstream import bounded
from galaxy.gateway.domain.ports import RawEntry
from galaxy_contracts.redis_keys import GATEWAY_PUSH

SERVICE = "push stream (redis)"


class RedisPushLog:
    def __init__(self, redis: aioredis.Redis, stream: str = GATEWAY_PUSH) -> None:
        self._redis = redis
        self._stream = stream

    async def page_after(self, after: str, count: int, *, budget: float) -> tuple[str | None, Sequence[RawEntry]]:
        return await bounded(SERVICE, budget, self._page_after(after, count))

    async def _page_after(self, after: str, count: int) -> tuple[str | None, Sequence[RawEntry]]:
        """One transaction, so trimming cannot slip between the retention check and the read."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xrange(self._stream, "-", "+", count=1)
            pipe.xrange(self._stream, f"({after}", "+", count=count)
            first, page = await pipe.execute()
        return (first[0][0] if first else None), [(entry_id, fields) for entry_id, fields in page]
