"""Many direct sends to Mail Service at once, as the lab caller, and Mail's public queue keys.

``send_many`` posts one ``POST /v1/deliveries`` per recipient (each with its own
idempotency key) with bounded concurrency; ``depths`` reads the work keys that
contracts/redis/keys.md "Mail" makes public for reading (how much is queued,
being sent, waiting for a retry). Generic: any boundary with Mail Service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from galaxy_contracts.http import MailClient
from galaxy_contracts.models import Delivery

# contracts/redis/keys.md "Mail" (readers: lab, read only).
QUEUE = "mail:queue"
PROCESSING = "mail:processing"
DUE = "mail:due"
DEFAULT_CONCURRENCY = 32


@dataclass(frozen=True)
class Depths:
    queued: int
    in_flight: int
    due: int

    @property
    def unsent(self) -> int:
        return self.queued + self.in_flight + self.due


async def depths(redis: aioredis.Redis) -> Depths:
    pipe = redis.pipeline(transaction=False)
    pipe.llen(QUEUE)
    pipe.llen(PROCESSING)
    pipe.zcard(DUE)
    queued, in_flight, due = await pipe.execute()
    return Depths(int(queued), int(in_flight), int(due))


async def send_many(
    mail: MailClient,
    recipients: Sequence[str],
    template: str,
    params: dict[str, Any],
    *,
    key_prefix: str,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> dict[str, Delivery]:
    """One delivery per recipient (idempotency key ``<key_prefix>-<n>``): ``{recipient: accepted delivery}``."""
    slots = asyncio.Semaphore(concurrency)

    async def one(index: int, to: str) -> tuple[str, Delivery]:
        async with slots:
            return to, await mail.send(to, template, params, idempotency_key=f"{key_prefix}-{index}")

    return dict(await asyncio.gather(*(one(i, to) for i, to in enumerate(recipients))))
