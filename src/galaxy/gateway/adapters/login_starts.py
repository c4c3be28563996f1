"""``LoginStarts`` in the boundary's Redis: one fixed-window counter per client address, shared by every
gateway process (a private key of the gateway, not part of contracts/redis/keys.md)."""

from __future__ import annotations

import redis.asyncio as aioredis

from galaxy.gateway.adapters._downstream import bounded

SERVICE = "login rate limiter (redis)"
PREFIX = "gateway:login-starts:"

# KEYS[1] the client's counter; ARGV[1] window in ms. -> {calls in the window, ms until it ends}
_COUNT = """
local calls = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {calls, left}
"""


class RedisLoginStarts:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._count = redis.register_script(_COUNT)

    async def count(self, client: str, window_seconds: int, *, budget: float) -> tuple[int, float]:
        """The window starts at the client's first call and is not extended by later ones."""
        calls, left_ms = await bounded(
            SERVICE, budget, self._count(keys=[PREFIX + client], args=[window_seconds * 1000])
        )
        return int(calls), int(left_ms) / 1000
