"""The boundary's Redis, one client per process."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# After a Redis restart every pooled connection is dead: without retries on connection
# errors the first command of each one fails. Bounded: 3 more tries within about 0.35 s.
RETRIES = 3
BACKOFF = ExponentialBackoff(cap=0.2, base=0.05)


def connect(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
        health_check_interval=10,
        retry=Retry(BACKOFF, RETRIES),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
