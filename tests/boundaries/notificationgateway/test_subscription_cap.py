"""At most ``SUBSCRIPTIONS_PER_USER`` open Subscribe streams per user on one gateway: the next one is
RESOURCE_EXHAUSTED with a message while the open ones go on receiving; another user is not limited by it;
closing a stream frees its slot."""

from __future__ import annotations

from contextlib import AsyncExitStack

import grpc
import redis.asyncio as aioredis

from galaxy_contracts.gateway import GatewayClient
from tests.boundaries.notificationgateway.members import DELIVERY_TIMEOUT, Member, push_cursor, send
from tests.harness import catalog
from tests.harness.push import PushReader
from tests.harness.waits import eventually_async

PUSH_TYPES = catalog.push_types()
ENDED_TIMEOUT = 10.0


async def open_live(
    stack: AsyncExitStack, gateway: GatewayClient, redis: aioredis.Redis, member: Member, count: int, cursor: str
) -> list[PushReader]:
    """``count`` streams of ``member`` (over its sessions in turn), each seen to deliver an event: open at the
    gateway, not just requested."""
    readers = [
        await stack.enter_async_context(
            PushReader(gateway, member.sessions[n % len(member.sessions)].token, resume_after=cursor)
        )
        for n in range(count)
    ]
    [opened] = await send(redis, PUSH_TYPES[0], member)
    for reader in readers:
        await reader.wait_for_intents([opened], within=DELIVERY_TIMEOUT)
    return readers


async def test_a_subscribe_beyond_the_users_cap_is_resource_exhausted(
    gateway: GatewayClient, redis: aioredis.Redis, member: Member, subscriptions_per_user: int
) -> None:
    cursor = await push_cursor(redis)
    async with AsyncExitStack() as stack:
        readers = await open_live(stack, gateway, redis, member, subscriptions_per_user, cursor)

        async with PushReader(gateway, member.token, resume_after=cursor) as extra:
            status = await extra.wait_ended(within=ENDED_TIMEOUT)

        [later] = await send(redis, PUSH_TYPES[0], member)
        for reader in readers:  # the open streams go on receiving (waiting fails if one has ended)
            await reader.wait_for_intents([later], within=DELIVERY_TIMEOUT)

    assert status == grpc.StatusCode.RESOURCE_EXHAUSTED, extra.error
    assert extra.error is not None
    assert extra.error.details(), "the refusal says why"
    assert extra.events == []


async def test_another_user_is_not_limited_by_a_users_cap(
    gateway: GatewayClient, redis: aioredis.Redis, member: Member, other: Member, subscriptions_per_user: int
) -> None:
    cursor = await push_cursor(redis)
    async with AsyncExitStack() as stack:
        await open_live(stack, gateway, redis, member, subscriptions_per_user, cursor)

        [others] = await open_live(stack, gateway, redis, other, 1, cursor)
        ended = others.ended

    assert not ended, others.error


async def test_closing_a_stream_frees_its_slot(
    gateway: GatewayClient, redis: aioredis.Redis, member: Member, subscriptions_per_user: int
) -> None:
    cursor = await push_cursor(redis)
    async with AsyncExitStack() as stack:
        first, *_ = await open_live(stack, gateway, redis, member, subscriptions_per_user, cursor)
        await first.close()

        # The gateway learns of the close asynchronously: a client subscribing right after may be refused once.
        async def reopened() -> PushReader:
            [reader] = await open_live(stack, gateway, redis, member, 1, cursor)
            return reader

        again = await eventually_async(reopened, within=DELIVERY_TIMEOUT, what="a stream accepted in the freed slot")
        ended = again.ended

    assert not ended, again.error
