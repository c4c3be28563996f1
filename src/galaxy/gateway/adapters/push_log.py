"""``PushLog`` in Redis: the replay window of ``gateway:push`` for resuming clients."""

from __future__ import annotations

import redis.asyncio as aioredis

from galaxy.gateway.adapters._downstream import bounded
from galaxy.gateway.domain.ports import PushPage
from galaxy_contracts.redis_keys import GATEWAY_PUSH

SERVICE = "push stream (redis)"
# The greatest stream id: nothing follows it, and Redis refuses it as an exclusive start.
LAST_POSSIBLE_ID = f"{2**64 - 1}-{2**64 - 1}"


class RedisPushLog:
    def __init__(self, redis: aioredis.Redis, stream: str = GATEWAY_PUSH) -> None:
        self._redis = redis
        self._stream = stream

    async def page_after(self, after: str, count: int, *, budget: float) -> PushPage:
        return await bounded(SERVICE, budget, self._page_after(after, count))

    async def _page_after(self, after: str, count: int) -> PushPage:
        """One transaction, so no write or trim slips between the window's ends and the read."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xrange(self._stream, "-", "+", count=1)
            pipe.xrevrange(self._stream, "+", "-", count=1)
            if after != LAST_POSSIBLE_ID:
                pipe.xrange(self._stream, f"({after}", "+", count=count)
            first, last, *page = await pipe.execute()
        entries = [(entry_id, fields) for entry_id, fields in (page[0] if page else [])]
        return PushPage(oldest=_id_of(first), newest=_id_of(last), entries=entries)


def _id_of(found: list[tuple[str, object]]) -> str | None:
    return str(found[0][0]) if found else None
