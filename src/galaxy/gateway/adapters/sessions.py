"""``Sessions``: active sessions, read from the boundary's Redis exactly as contracts/redis/keys.md publishes them."""

from __future__ import annotations

import redis.asyncio as aioredis

from galaxy.gateway.adapters._downstream import bounded
from galaxy_contracts import redis_keys

SERVICE = "session store (redis)"


class RedisSessions:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def user_of(self, session_id: str, *, budget: float) -> str | None:
        """No cache: a logout is seen by the very next call."""
        user_id = await bounded(SERVICE, budget, self._redis.hget(redis_keys.session(session_id), "user_id"))
        return None if user_id is None else str(user_id)
