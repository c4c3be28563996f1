"""A client that stops reading stalls no one else; it is dropped (RESOURCE_EXHAUSTED) and resumes losslessly.

The gateway's policy (src/galaxy/gateway, ``SUBSCRIPTION_QUEUE_SIZE``): each
subscription buffers a bounded number of events; one that falls further behind
is ended with RESOURCE_EXHAUSTED and its client resubscribes with its last
event id.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest
import redis.asyncio as aioredis

from galaxy_contracts.gateway import GatewayClient, bearer, pb
from tests.boundaries.notificationgateway.members import DELIVERY_TIMEOUT, Member, push_cursor, push_ids, send
from tests.harness import catalog
from tests.harness.push import PushReader
from tests.harness.waits import eventually_async

PUSH_TYPES = catalog.push_types()
# Far more than the gateway buffers per subscription (256 events by default) plus what gRPC's flow-control
# windows hold (about 2 MB seen): each event carries params of PARAM_SIZE characters (and a body from them).
BACKLOG = 1000
PARAM_SIZE = 7000
BACKLOG_TIMEOUT = 90.0
FOLLOWERS_EVENTS = 20
# A stream that sends nothing for this long after the backlog was written has nothing more to send.
READ_IDLE_TIMEOUT = 10.0

# A backlog of BACKLOG large intents keeps the boundary's Notification Service busy for seconds: a test
# running beside it would wait behind the backlog past its own delivery bound (seen: 0 events in 15 s).
pytestmark = pytest.mark.disruptive


async def test_slow_client_does_not_stall_another_users_subscription(
    gateway: GatewayClient, redis: aioredis.Redis, member: Member, other: Member
) -> None:
    cursor = await push_cursor(redis)
    slow_call = gateway.stub.Subscribe(pb.SubscribeRequest(resume_after=cursor), metadata=bearer(member.token))
    try:
        async with PushReader(gateway, other.token, resume_after=cursor) as follower:
            [opened] = await send(redis, PUSH_TYPES[0], member)
            assert (await slow_call.read()).intent_id == opened  # open and live; it reads nothing more
            backlog = await send(redis, PUSH_TYPES[0], member, BACKLOG, size=PARAM_SIZE)
            await wait_on_stream(redis, member, cursor, BACKLOG + 1)

            later = await send(redis, PUSH_TYPES[0], other, FOLLOWERS_EVENTS)
            await follower.wait_for_intents(later, within=DELIVERY_TIMEOUT)

        assert follower.intent_ids == later
    finally:
        slow_call.cancel()
    assert backlog


async def test_slow_client_is_dropped_and_resumes_without_loss(
    gateway: GatewayClient, redis: aioredis.Redis, member: Member
) -> None:
    cursor = await push_cursor(redis)
    slow_call = gateway.stub.Subscribe(pb.SubscribeRequest(resume_after=cursor), metadata=bearer(member.token))
    received: list[pb.PushEvent] = []
    try:
        [opened] = await send(redis, PUSH_TYPES[0], member)
        received.append(await slow_call.read())
        assert received[0].intent_id == opened
        backlog = await send(redis, PUSH_TYPES[0], member, BACKLOG, size=PARAM_SIZE)
        await wait_on_stream(redis, member, cursor, BACKLOG + 1)

        status = grpc.StatusCode.OK
        try:
            while (event := await asyncio.wait_for(slow_call.read(), READ_IDLE_TIMEOUT)) is not grpc.aio.EOF:
                received.append(event)
        except grpc.aio.AioRpcError as error:
            status = error.code()
        except TimeoutError:
            status = grpc.StatusCode.DEADLINE_EXCEEDED  # still open: the gateway kept the whole backlog
    finally:
        slow_call.cancel()

    async with PushReader(gateway, member.token, resume_after=received[-1].event_id) as resumed:
        await resumed.wait_for_intents(backlog[-1:], within=DELIVERY_TIMEOUT)

    print(f"slow client: {len(received)} events, then {status.name}; {len(resumed.ids)} after resuming")
    assert status == grpc.StatusCode.RESOURCE_EXHAUSTED, "the slow client was not dropped"
    assert len(received) < BACKLOG + 1
    assert [e.event_id for e in received] + resumed.ids == await push_ids(redis, member, cursor)


async def wait_on_stream(redis: aioredis.Redis, member: Member, after: str, count: int) -> None:
    async def all_there() -> None:
        assert len(await push_ids(redis, member, after)) >= count

    await eventually_async(all_there, within=BACKLOG_TIMEOUT, what=f"{count} push entries of the member")
