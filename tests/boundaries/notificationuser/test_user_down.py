"""User Service stopped through the process manager: intents wait (pending), nothing is sent; once it is
back, every intent is delivered exactly once. The stream never blocks on them meanwhile.

Disruptive: each test runs alone within the boundary (tests/boundaries/conftest.py).
"""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys
from galaxy_contracts.http import UserClient
from tests.boundaries.notificationuser.outputs import (
    GROUP,
    INTENTS,
    new_account,
    outputs,
    positions,
    wait_handled,
    write,
)
from tests.harness import catalog, streams
from tests.harness.keys import unique_intent_id
from tests.harness.processes import ProcessControl
from tests.harness.waits import eventually_async

pytestmark = pytest.mark.disruptive

USER = "user"
USERS = 3
TYPES = catalog.types()
NOT_A_TYPE = "lab.not_in_the_catalog"
# Reclaimed (RECLAIM_MIN_IDLE_MS, 500 ms in this boundary) and tried again at least once more.
RETRIED = 2
RETRY_TIMEOUT = 20.0
# Every waiting intent is reclaimed within RECLAIM_MIN_IDLE_MS of User Service answering again.
RECOVERY_TIMEOUT = 60.0


async def wait_pending(redis: aioredis.Redis, entry_ids: list[str]) -> None:
    """Until every entry has been read, not acknowledged, and delivered to a consumer ``RETRIED`` times."""

    async def all_retried() -> None:
        waiting = await streams.pending(redis, INTENTS, GROUP)
        short = [i for i in entry_ids if waiting.get(i, 0) < RETRIED]
        assert not short, f"{len(short)} of {len(entry_ids)} intents not pending with {RETRIED}+ deliveries"

    await eventually_async(all_retried, within=RETRY_TIMEOUT, what="intents pending while User Service is down")


async def test_intents_wait_while_user_service_is_down_and_are_delivered_once_after(
    redis: aioredis.Redis, users: UserClient, processes: ProcessControl
) -> None:
    accounts = [await new_account(users, f"waiting-{n}") for n in range(USERS)]
    intents = [catalog.intent(t, a.user_id) for a in accounts for t in TYPES]
    intent_ids = [i["intent_id"] for i in intents]
    after = await positions(redis)

    with processes.stopped(USER):
        entry_ids = await write(redis, *intents)
        await wait_pending(redis, entry_ids)
        for channel in catalog.CHANNELS:
            assert await outputs(redis, channel, intent_ids, after[channel]) == [], f"{channel} written while down"

    await wait_handled(redis, entry_ids, within=RECOVERY_TIMEOUT)
    for channel in catalog.CHANNELS:
        expected = {i["intent_id"]: 1 for i in intents if channel in catalog.channels(i["type"])}
        counts = await streams.count_by(
            redis, catalog.OUTPUT_STREAM[channel], "intent_id", intent_ids, after=after[channel]
        )
        print(f"user down: {len(intents)} intents for {USERS} users -> {sum(counts.values())} {channel} entries")
        assert {k: v for k, v in counts.items() if v} == expected, f"{channel}: not exactly once per intent"
    dead = await streams.carrying(redis, redis_keys.NOTIFICATION_INTENTS_DEAD, "source_id", entry_ids)
    assert dead == [], f"waiting intents were dead-lettered: {[d.fields['reason'] for d in dead]}"


async def test_stream_keeps_flowing_past_waiting_intents_while_user_service_is_down(
    redis: aioredis.Redis, users: UserClient, processes: ProcessControl
) -> None:
    """Intents that need no User lookup (a duplicate of a handled intent, a type not in the catalog) are
    handled behind the waiting ones during the outage."""
    account = await new_account(users, "flowing")
    handled_before = catalog.intent(TYPES[0], account.user_id)
    await wait_handled(redis, await write(redis, handled_before))

    with processes.stopped(USER):
        waiting = await write(redis, *(catalog.intent(t, account.user_id) for t in TYPES))
        unknown = catalog.intent(TYPES[0], account.user_id) | {"type": NOT_A_TYPE, "intent_id": unique_intent_id()}
        behind = await write(redis, handled_before, unknown)
        await wait_handled(redis, behind)
        await wait_pending(redis, waiting)

    [dead] = await streams.carrying(redis, redis_keys.NOTIFICATION_INTENTS_DEAD, "source_id", behind)
    assert (dead.fields["source_id"], dead.fields["reason"]) == (behind[1], "unknown_type")
    await wait_handled(redis, waiting, within=RECOVERY_TIMEOUT)
