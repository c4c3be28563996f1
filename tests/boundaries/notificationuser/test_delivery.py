"""Delivery semantics against the real User Service: missing users, duplicates, opted-out channels."""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys
from galaxy_contracts import streams as contract_streams
from galaxy_contracts.http import UserClient
from galaxy_contracts.models import Account, AccountUpdate, NotificationPreferencesUpdate
from tests.boundaries.notificationuser.outputs import INTENTS, outputs, positions, wait_handled, write
from tests.harness import catalog, streams
from tests.harness import redis as lab_redis
from tests.harness.catalog import Channel
from tests.harness.keys import unique_user_id

TYPES = catalog.types()
DEAD = redis_keys.NOTIFICATION_INTENTS_DEAD


async def dead_letters(redis: aioredis.Redis, entry_ids: list[str]) -> list[lab_redis.StreamEntry]:
    return await streams.carrying(redis, DEAD, "source_id", entry_ids)


@pytest.mark.parametrize("intent_type", TYPES)
async def test_missing_user_is_dead_lettered_with_its_reason(redis: aioredis.Redis, intent_type: str) -> None:
    intent = catalog.intent(intent_type, unique_user_id())
    after = await positions(redis)
    [entry_id] = await write(redis, intent)
    await wait_handled(redis, [entry_id])

    [dead] = await dead_letters(redis, [entry_id])
    contract_streams.validate(DEAD, dead.fields)
    assert (dead.fields["reason"], dead.fields["source_stream"]) == ("user_not_found", INTENTS)
    assert json.loads(dead.fields["entry"]) == intent, "the dead letter does not keep the intent verbatim"
    for channel in catalog.CHANNELS:
        assert await outputs(redis, channel, [intent["intent_id"]], after[channel]) == []


async def test_intents_after_a_missing_user_keep_flowing(redis: aioredis.Redis, account: Account) -> None:
    missing = [catalog.intent(t, unique_user_id()) for t in TYPES]
    present = [catalog.intent(t, account.user_id) for t in TYPES]
    after = await positions(redis)
    entry_ids = await write(redis, *missing, *present)

    await wait_handled(redis, entry_ids)

    assert len(await dead_letters(redis, entry_ids)) == len(missing)
    for intent in present:
        for channel in catalog.channels(intent["type"]):
            assert len(await outputs(redis, channel, [intent["intent_id"]], after[channel])) == 1, intent["type"]


@pytest.mark.parametrize("intent_type", TYPES)
async def test_duplicated_intent_id_gives_one_output_per_channel(
    redis: aioredis.Redis, account: Account, intent_type: str
) -> None:
    intent = catalog.intent(intent_type, account.user_id)
    after = await positions(redis)
    entry_ids = await write(redis, intent, intent)
    # The same intent id again later, after the first is surely handled (a redelivery or a producer retry).
    await wait_handled(redis, entry_ids)
    entry_ids += await write(redis, intent)
    await wait_handled(redis, entry_ids)

    for channel in catalog.channels(intent_type):
        found = await outputs(redis, channel, [intent["intent_id"]], after[channel])
        assert len(found) == 1, f"{len(found)} {channel} entries for one intent written 3 times"
    assert await dead_letters(redis, entry_ids) == [], "a duplicate was dead-lettered instead of dropped"


def preference(channel: Channel, enabled: bool) -> AccountUpdate:
    switch = {"push": "push_enabled", "email": "email_enabled"}[channel]
    return AccountUpdate(notification_preferences=NotificationPreferencesUpdate(**{switch: enabled}))


@pytest.mark.parametrize(("intent_type", "channel"), catalog.opt_out_cases())
async def test_opted_out_channel_gets_nothing_and_the_others_still_do(
    redis: aioredis.Redis, users: UserClient, account: Account, intent_type: str, channel: Channel
) -> None:
    await users.update(account.user_id, preference(channel, enabled=False))
    intent = catalog.intent(intent_type, account.user_id)
    after = await positions(redis)
    await wait_handled(redis, await write(redis, intent))

    for each in catalog.channels(intent_type):
        found = await outputs(redis, each, [intent["intent_id"]], after[each])
        assert len(found) == (0 if each == channel else 1), f"{each}: {len(found)} entries"


@pytest.mark.parametrize(("intent_type", "channel"), catalog.mandatory_cases())
async def test_channel_of_a_type_that_ignores_preferences_is_sent_even_when_opted_out(
    redis: aioredis.Redis, users: UserClient, account: Account, intent_type: str, channel: Channel
) -> None:
    await users.update(account.user_id, preference(channel, enabled=False))
    intent = catalog.intent(intent_type, account.user_id)
    after = await positions(redis)
    await wait_handled(redis, await write(redis, intent))

    assert len(await outputs(redis, channel, [intent["intent_id"]], after[channel])) == 1


@pytest.mark.parametrize(("intent_type", "channel"), catalog.opt_out_cases())
async def test_opting_back_in_sends_again(
    redis: aioredis.Redis, users: UserClient, account: Account, intent_type: str, channel: Channel
) -> None:
    await users.update(account.user_id, preference(channel, enabled=False))
    await users.update(account.user_id, preference(channel, enabled=True))
    intent = catalog.intent(intent_type, account.user_id)
    after = await positions(redis)
    await wait_handled(redis, await write(redis, intent))

    assert len(await outputs(redis, channel, [intent["intent_id"]], after[channel])) == 1
