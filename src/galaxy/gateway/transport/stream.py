"""Inbound ``gateway:push``: one live XREAD loop per process, each new entry handed to the push fan-out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from galaxy.common.serve import stop_requested
from galaxy_contracts.redis_keys import GATEWAY_PUSH

log = logging.getLogger(__name__)
Deliver = Callable[[str, Mapping[str, str]], None]


class Consumer:
    """Follows the stream from its end at start-up and hands every new entry to ``deliver``, in order.

    Survives Redis outages: it keeps its position and continues after the last entry it delivered.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        deliver: Deliver,
        *,
        stream: str = GATEWAY_PUSH,
        block_ms: int = 1000,
        batch: int = 100,
        max_backoff: float = 1.0,
    ) -> None:
        self._redis = redis
        self._deliver = deliver
        self._stream = stream
        self._block_ms = block_ms
        self._batch = batch
        self._max_backoff = max_backoff
        self.position: str | None = None

    async def run(self) -> None:
        backoff = 0.05
        while not stop_requested():
            try:
                if self.position is None:
                    self.position = await self._end()
                await self._read_once()
                backoff = 0.05
            except (RedisError, OSError) as exc:
                if stop_requested():
                    raise asyncio.CancelledError from exc
                log.warning("push stream read failed; retrying", extra={"reason": type(exc).__name__})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
        raise asyncio.CancelledError

    async def _end(self) -> str:
        last = await self._redis.xrevrange(self._stream, "+", "-", count=1)
        return str(last[0][0]) if last else "0-0"

    async def _read_once(self) -> None:
        assert self.position is not None
        reply = await self._redis.xread({self._stream: self.position}, count=self._batch, block=self._block_ms)
        for entry_id, fields in _entries(reply):
            self._deliver(entry_id, fields)
            self.position = entry_id


def _entries(reply: Any) -> list[tuple[str, Mapping[str, str]]]:
    """XREAD's reply: a list of [stream, entries] (or a map stream -> entries under RESP3 callbacks)."""
    if not reply:
        return []
    per_stream = reply.values() if isinstance(reply, dict) else (entries for _, entries in reply)
    return [(str(entry_id), fields) for entries in per_stream for entry_id, fields in entries]
