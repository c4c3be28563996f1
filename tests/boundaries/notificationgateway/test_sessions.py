"""An open push stream lives only as long as its session: revoked or expired, it ends UNAUTHENTICATED."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
import pytest
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys
from galaxy_contracts.gateway import GatewayClient
from tests.boundaries.notificationgateway.members import DELIVERY_TIMEOUT, Member, push_cursor, send
from tests.harness import catalog
from tests.harness.push import PushReader
from tests.harness.sessions import LabSession, SessionMinter

PUSH_TYPES = catalog.push_types()
# The gateway re-checks an idle stream's session about once a second.
ENDED_TIMEOUT = 10.0

EndSession = Callable[[SessionMinter, aioredis.Redis, LabSession], Awaitable[None]]


async def logout(minter: SessionMinter, redis: aioredis.Redis, session: LabSession) -> None:
    """What authsession's logout does to the public keys (contracts/redis/keys.md)."""
    await minter.revoke(session)


async def expiry(minter: SessionMinter, redis: aioredis.Redis, session: LabSession) -> None:
    """The session key's TTL running out."""
    await redis.pexpire(redis_keys.session(session.session_id), 1)


ENDINGS: list[EndSession] = [logout, expiry]


@pytest.mark.parametrize("end", ENDINGS, ids=lambda end: end.__name__)
async def test_stream_of_an_ended_session_ends_unauthenticated(
    gateway: GatewayClient, redis: aioredis.Redis, minter: SessionMinter, member: Member, end: EndSession
) -> None:
    async with PushReader(gateway, member.token, resume_after=await push_cursor(redis)) as reader:
        [opened] = await send(redis, PUSH_TYPES[0], member)
        await reader.wait_for_intents([opened], within=DELIVERY_TIMEOUT)  # the stream is open and live

        await end(minter, redis, member.sessions[0])
        status = await reader.wait_ended(within=ENDED_TIMEOUT)

    assert status == grpc.StatusCode.UNAUTHENTICATED, reader.error


@pytest.mark.parametrize("end", ENDINGS, ids=lambda end: end.__name__)
async def test_ended_session_gets_no_event_after_it_ended(
    gateway: GatewayClient, redis: aioredis.Redis, minter: SessionMinter, member: Member, end: EndSession
) -> None:
    """The user's other session goes on receiving; the ended one receives nothing written after the end."""
    cursor = await push_cursor(redis)
    async with (
        PushReader(gateway, member.sessions[0].token, resume_after=cursor) as ended,
        PushReader(gateway, member.sessions[1].token, resume_after=cursor) as still_open,
    ):
        [opened] = await send(redis, PUSH_TYPES[0], member)
        await ended.wait_for_intents([opened], within=DELIVERY_TIMEOUT)

        await end(minter, redis, member.sessions[0])
        [later] = await send(redis, PUSH_TYPES[0], member)
        await still_open.wait_for_intents([opened, later], within=DELIVERY_TIMEOUT)
        await ended.wait_ended(within=ENDED_TIMEOUT)

    assert ended.intent_ids == [opened]
    assert still_open.error is None
    assert still_open.intent_ids == [opened, later]


async def test_resuming_with_an_ended_session_is_refused(
    gateway: GatewayClient, redis: aioredis.Redis, minter: SessionMinter, member: Member
) -> None:
    cursor = await push_cursor(redis)
    await send(redis, PUSH_TYPES[0], member)
    await logout(minter, redis, member.sessions[0])

    async with PushReader(gateway, member.token, resume_after=cursor) as reader:
        status = await reader.wait_ended(within=ENDED_TIMEOUT)

    assert status == grpc.StatusCode.UNAUTHENTICATED, reader.error
    assert reader.events == []
