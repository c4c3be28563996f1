"""For every push type of the catalog: an intent reaches every open subscription of its user, and no other."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack

import pytest
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys
from galaxy_contracts.gateway import GatewayClient
from tests.boundaries.notificationgateway.members import DELIVERY_TIMEOUT, Member, push_cursor, send
from tests.harness import catalog
from tests.harness import redis as lab_redis
from tests.harness.push import PushReader

PUSH_TYPES = catalog.push_types()


async def open_readers(
    stack: AsyncExitStack, gateway: GatewayClient, cursor: str, *members: Member
) -> list[PushReader]:
    """One reader per session of each member, all resuming from ``cursor`` (so none can miss an event)."""
    readers = []
    for member in members:
        for session in member.sessions:
            readers.append(await stack.enter_async_context(PushReader(gateway, session.token, resume_after=cursor)))
    return readers


@pytest.mark.parametrize("intent_type", PUSH_TYPES)
async def test_intent_reaches_every_subscription_of_its_user_and_no_other(
    gateway: GatewayClient, redis: aioredis.Redis, member: Member, other: Member, intent_type: str
) -> None:
    cursor = await push_cursor(redis)
    async with AsyncExitStack() as stack:
        first, second, others = await open_readers(stack, gateway, cursor, member, other)
        [intent_id] = await send(redis, intent_type, member)
        for reader in (first, second):
            await reader.wait_for_intents([intent_id], within=DELIVERY_TIMEOUT)
        # Markers written after it: once each has arrived, anything else would have arrived before it.
        [member_marker] = await send(redis, intent_type, member)
        [other_marker] = await send(redis, intent_type, other)
        for reader in (first, second):
            await reader.wait_for_intents([member_marker], within=DELIVERY_TIMEOUT)
        await others.wait_for_intents([other_marker], within=DELIVERY_TIMEOUT)

    assert first.intent_ids == [intent_id, member_marker]
    assert second.intent_ids == [intent_id, member_marker]
    assert others.intent_ids == [other_marker], "another user's subscription received this user's event"


@pytest.mark.parametrize("intent_type", PUSH_TYPES)
async def test_event_is_the_push_entry_rendered_for_the_recipient(
    gateway: GatewayClient, redis: aioredis.Redis, member: Member, intent_type: str
) -> None:
    params = catalog.sample_params(intent_type)
    intent = catalog.intent(intent_type, member.user_id, params=params)
    async with PushReader(gateway, member.token, resume_after=await push_cursor(redis)) as reader:
        await redis.xadd(redis_keys.NOTIFICATION_INTENTS, dict(intent))  # type: ignore[arg-type]
        await reader.wait_for_intents([intent["intent_id"]], within=DELIVERY_TIMEOUT)
    [event] = reader.events
    entry = await lab_redis.only_entry(redis, redis_keys.GATEWAY_PUSH, within=1, intent_id=intent["intent_id"])

    title, body = catalog.rendered_push(intent_type, params, catalog.recipient(member.account))
    assert (event.event_id, event.type, event.intent_id) == (entry.id, intent_type, intent["intent_id"])
    assert (event.title, event.body) == (title, body)
    assert json.loads(event.data_json) == params
    assert event.created_at.seconds > 0
