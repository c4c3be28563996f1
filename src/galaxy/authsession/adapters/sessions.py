"""``SessionStore`` in Redis under the public keys of contracts/redis/keys.md."""

from __future__ import annotations

import redis.asyncio as aioredis

from galaxy.authsession.adapters._redis import decoded
from galaxy.authsession.domain.model import Session
from galaxy_contracts import redis_keys


class RedisSessionStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def get(self, session_id: str) -> Session | None:
        fields = decoded(await self._redis.hgetall(redis_keys.session(session_id)))
        if not fields.get("user_id"):
            return None
        return Session.from_fields(session_id, fields)

    async def revoke(self, session_id: str) -> bool:
        """Delete the session and its set membership; False when it was already gone."""
        user_id = await self._redis.hget(redis_keys.session(session_id), "user_id")
        if user_id is None:
            return False
        if isinstance(user_id, bytes):
            user_id = user_id.decode()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(redis_keys.session(session_id))
            pipe.srem(redis_keys.user_sessions(user_id), session_id)
            deleted, _ = await pipe.execute()
        return bool(deleted)
