"""Faults mid-scenario, then count: every intent written is pushed exactly once, and every client that
resumes with its last event id receives exactly its user's ``gateway:push`` entries.

Faults, through the host's process manager: the durable Redis stopped and started cleanly, Redis killed
(``kill -9``), Notification Service killed (``kill -9``). Disruptive: each runs alone within the boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AsyncExitStack

import pytest
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys
from galaxy_contracts.gateway import GatewayClient
from tests.boundaries.notificationgateway.members import Member, new_member, push_cursor, push_ids
from tests.harness import catalog, streams
from tests.harness.processes import ProcessControl
from tests.harness.push import PushReader
from tests.harness.sessions import SessionMinter
from tests.harness.stubs import StubControl
from tests.harness.waits import eventually_async

pytestmark = pytest.mark.disruptive

PUSH_TYPES = catalog.push_types()
USERS = 3
PER_USER = 60  # intents per user in each phase, before and after the fault
# Redis back from AOF, Notification Service restarted by supervisord, every waiting intent reclaimed.
RECOVERY_TIMEOUT = 90.0
STARTED_TIMEOUT = 30.0


def redis_restart(processes: ProcessControl) -> None:
    with processes.stopped("redis"):
        pass


def redis_kill(processes: ProcessControl) -> None:
    with processes.killed("redis"):
        pass


def notification_kill(processes: ProcessControl) -> None:
    with processes.killed("notification"):
        pass


FAULTS: list[Callable[[ProcessControl], None]] = [redis_restart, redis_kill, notification_kill]


def phase(members: list[Member]) -> list[dict[str, str]]:
    """PER_USER intents per member of every push type in turn, the members interleaved."""
    return [catalog.intent(PUSH_TYPES[n % len(PUSH_TYPES)], m.user_id) for n in range(PER_USER) for m in members]


async def pushed(redis: aioredis.Redis, intent_ids: list[str], after: str) -> dict[str, int]:
    return dict(await streams.count_by(redis, redis_keys.GATEWAY_PUSH, "intent_id", intent_ids, after=after))


@pytest.mark.parametrize("fault", FAULTS, ids=lambda fault: fault.__name__.replace("_", "-"))
async def test_nothing_lost_nothing_duplicated_across_the_fault(
    gateway: GatewayClient,
    redis: aioredis.Redis,
    stub: StubControl,
    minter: SessionMinter,
    processes: ProcessControl,
    fault: Callable[[ProcessControl], None],
) -> None:
    members = [await new_member(stub, minter, f"durable-{n}") for n in range(USERS)]
    cursor = await push_cursor(redis)
    async with AsyncExitStack() as stack:
        readers = [
            await stack.enter_async_context(PushReader(gateway, m.token, resume_after=cursor, reconnect=True))
            for m in members
        ]
        before = phase(members)
        await streams.add_all(redis, redis_keys.NOTIFICATION_INTENTS, before)

        async def some_pushed() -> None:
            assert any((await pushed(redis, [i["intent_id"] for i in before], cursor)).values())

        await eventually_async(some_pushed, within=STARTED_TIMEOUT, what="the first intents pushed")
        at_fault = sum((await pushed(redis, [i["intent_id"] for i in before], cursor)).values())
        fault(processes)
        await redis.connection_pool.disconnect()  # the test's own connections died with a restarted Redis
        after = phase(members)
        await streams.add_all(redis, redis_keys.NOTIFICATION_INTENTS, after)

        intent_ids = [i["intent_id"] for i in before + after]

        async def all_pushed() -> None:
            counts = await pushed(redis, intent_ids, cursor)
            assert all(counts.values()), f"{sum(1 for c in counts.values() if not c)} intents not pushed yet"

        await eventually_async(all_pushed, within=RECOVERY_TIMEOUT, what="every intent pushed after the fault")
        for member, reader in zip(members, readers, strict=True):
            mine = [i["intent_id"] for i in before + after if i["user_id"] == member.user_id]
            await reader.wait_for_intents(mine, within=RECOVERY_TIMEOUT)

    counts = await pushed(redis, intent_ids, cursor)
    received = sum(len(r.ids) for r in readers)
    print(
        f"{fault.__name__}: {len(before)} intents written before the fault ({at_fault} pushed when it struck), "
        f"{len(after)} after; {sum(counts.values())} pushed in all, "
        f"{sum(1 for c in counts.values() if c > 1)} duplicated, {received} received by {USERS} clients "
        f"({sum(r.reconnects for r in readers)} reconnects)"
    )
    assert sorted(set(counts.values())) == [1], "an intent was pushed more than once"
    for member, reader in zip(members, readers, strict=True):
        assert reader.error is None, reader.error
        assert reader.ids == await push_ids(redis, member, cursor), "a client's events differ from the stream"
