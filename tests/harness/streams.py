"""Redis streams and consumer groups as a black box sees them: write entries, ask what is pending or handled.

Generic: no stream or group name is known here; callers pass the contract's
(``galaxy_contracts.redis_keys``). An entry is *handled* by a group once the
group has read past it and it is no longer in the group's pending list.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from tests.harness import redis as lab_redis

PENDING_PAGE = 10_000


def entry_order(entry_id: str) -> tuple[int, int]:
    """Sort key of a stream entry id (``<ms>-<seq>``): ids order by milliseconds, then sequence."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


async def add(redis: aioredis.Redis, stream: str, fields: Mapping[str, str]) -> str:
    """XADD one entry; its id."""
    mapping: dict[FieldT, EncodableT] = dict(fields)
    return str(await redis.xadd(stream, mapping))


async def add_all(redis: aioredis.Redis, stream: str, entries: Iterable[Mapping[str, str]]) -> list[str]:
    """XADD every entry in one round trip (in order); their ids."""
    async with redis.pipeline(transaction=False) as pipe:
        for fields in entries:
            mapping: dict[FieldT, EncodableT] = dict(fields)
            pipe.xadd(stream, mapping)
        return [str(entry_id) for entry_id in await pipe.execute()]


async def pending(redis: aioredis.Redis, stream: str, group: str) -> dict[str, int]:
    """``{entry id: times delivered}`` of every entry read by ``group`` and not acknowledged yet."""
    rows = await redis.xpending_range(stream, group, min="-", max="+", count=PENDING_PAGE)
    return {str(row["message_id"]): int(row["times_delivered"]) for row in rows}


async def last_delivered(redis: aioredis.Redis, stream: str, group: str) -> str:
    """The id of the newest entry ``group`` has read (``0-0`` before its first read)."""
    for info in await redis.xinfo_groups(stream):
        if info["name"] == group:
            return str(info["last-delivered-id"])
    raise AssertionError(f"no consumer group {group!r} on {stream}")


async def unhandled(redis: aioredis.Redis, stream: str, group: str, entry_ids: Iterable[str]) -> list[str]:
    """Those of ``entry_ids`` that ``group`` has not read yet or has not acknowledged."""
    read_up_to = entry_order(await last_delivered(redis, stream, group))
    waiting = await pending(redis, stream, group)
    return [i for i in entry_ids if entry_order(i) > read_up_to or i in waiting]


async def count_by(
    redis: aioredis.Redis, stream: str, field: str, values: Iterable[str], *, after: str = "0-0"
) -> Counter[str]:
    """How many entries of ``stream`` newer than ``after`` carry each of ``values`` in ``field``
    (0 for those none carries)."""
    wanted = set(values)
    counts: Counter[str] = Counter(dict.fromkeys(wanted, 0))
    for entry in await lab_redis.entries_after(redis, stream, after):
        value = entry.fields.get(field)
        if value in wanted:
            counts[value] += 1
    return counts


async def carrying(
    redis: aioredis.Redis, stream: str, field: str, values: Iterable[str], *, after: str = "0-0"
) -> list[lab_redis.StreamEntry]:
    """Entries of ``stream`` newer than ``after`` whose ``field`` is one of ``values``, oldest first."""
    wanted = set(values)
    return [e for e in await lab_redis.entries_after(redis, stream, after) if e.fields.get(field) in wanted]


def ids_of(entries: Sequence[lab_redis.StreamEntry]) -> list[str]:
    return [e.id for e in entries]
