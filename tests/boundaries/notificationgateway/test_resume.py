"""Resuming a subscription: exactly the user's ``gateway:push`` entries after the cursor, or a clear refusal."""

from __future__ import annotations

import grpc
import pytest
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys
from galaxy_contracts.gateway import GatewayClient
from tests.boundaries.notificationgateway.members import DELIVERY_TIMEOUT, Member, push_cursor, push_ids, send
from tests.harness import catalog, streams
from tests.harness.push import PushReader
from tests.harness.waits import eventually_async

PUSH_TYPES = catalog.push_types()
BATCH = 120  # events per phase: at least 100 before the disconnect and 100 while disconnected
# Writing BATCH intents and having them all handled, on two cores with the rest of the lab running.
BATCH_TIMEOUT = 60.0
# More of the member's entries than the gateway reads per replay page (500), so a replay takes several pages.
PAGES_BACKLOG = 520
# Intents still being pushed while the replay delivers its first page (Notification Service handles one
# user's intents in order, one User lookup each); fewer than the gateway buffers per subscription (256).
DURING_REPLAY = 200
REPLAY_TIMEOUT = 120.0


async def send_batch(redis: aioredis.Redis, member: Member, other: Member) -> list[str]:
    """BATCH intents for ``member`` of every push type in turn, each followed by one for ``other``
    (so the member's entries are not contiguous on the stream); the member's intent ids."""
    ids: list[str] = []
    for index in range(BATCH):
        intent_type = PUSH_TYPES[index % len(PUSH_TYPES)]
        ids += await send(redis, intent_type, member)
        await send(redis, intent_type, other)
    return ids


async def wait_on_stream(
    redis: aioredis.Redis, member: Member, after: str, count: int, *, within: float = BATCH_TIMEOUT
) -> None:
    async def all_there() -> None:
        assert len(await push_ids(redis, member, after)) >= count

    await eventually_async(all_there, within=within, what=f"{count} push entries of the member on the stream")


def just_before(entry_id: str) -> str:
    """The greatest stream id smaller than ``entry_id``."""
    ms, seq = streams.entry_order(entry_id)
    return f"{ms}-{seq - 1}" if seq > 0 else f"{ms - 1}-{2**64 - 1}"


@pytest.mark.parametrize("missed_all_written", [True, False], ids=["reconnect-after", "reconnect-during"])
async def test_resume_gets_exactly_the_stream_entries_of_the_user(
    gateway: GatewayClient, redis: aioredis.Redis, member: Member, other: Member, missed_all_written: bool
) -> None:
    cursor = await push_cursor(redis)
    async with PushReader(gateway, member.token, resume_after=cursor) as before:
        first = await send_batch(redis, member, other)
        await before.wait_for_intents(first, within=BATCH_TIMEOUT)
    missed = await send_batch(redis, member, other)
    if missed_all_written:
        await wait_on_stream(redis, member, cursor, 2 * BATCH)

    async with PushReader(gateway, member.token, resume_after=before.last_id) as after:
        await after.wait_for_intents(missed, within=BATCH_TIMEOUT)
        [marker] = await send(redis, PUSH_TYPES[0], member)
        await after.wait_for_intents([marker], within=DELIVERY_TIMEOUT)

    received = before.ids + after.ids
    on_stream = await push_ids(redis, member, cursor)
    print(f"resume: {len(before.ids)} before the disconnect, {len(after.ids)} after, {len(on_stream)} on the stream")
    assert len(before.ids) >= BATCH
    assert len(after.ids) > BATCH
    assert received == on_stream, "the events received differ from the user's gateway:push entries"
    assert before.intent_ids + after.intent_ids == first + missed + [marker]


async def test_cursor_older_than_the_retained_stream_is_failed_precondition(
    gateway: GatewayClient, redis: aioredis.Redis, member: Member
) -> None:
    await send(redis, PUSH_TYPES[0], member)
    await wait_on_stream(redis, member, "0-0", 1)
    [(oldest, _)] = await redis.xrange(redis_keys.GATEWAY_PUSH, count=1)

    async with PushReader(gateway, member.token, resume_after=just_before(oldest)) as reader:
        status = await reader.wait_ended(within=DELIVERY_TIMEOUT)

    assert status == grpc.StatusCode.FAILED_PRECONDITION, reader.error
    assert reader.events == [], "events were sent before the refusal"
    assert reader.error is not None
    assert "resume_after" in (reader.error.details() or "")


async def test_cursor_at_the_oldest_retained_entry_is_accepted(
    gateway: GatewayClient, redis: aioredis.Redis, member: Member
) -> None:
    """The control of the refusal above: a cursor the stream still holds resumes, replaying what follows it.

    Once ``gateway:push`` is at its MAXLEN every write trims it, so the oldest entry may be gone by the
    time the gateway reads: a refusal is retried with the then oldest. A gateway that refuses a cursor
    equal to the oldest retained entry refuses every attempt.
    """
    [intent_id] = await send(redis, PUSH_TYPES[0], member)
    await wait_on_stream(redis, member, "0-0", 1)

    async def resumes_from_the_oldest() -> list[str]:
        [(oldest, _)] = await redis.xrange(redis_keys.GATEWAY_PUSH, count=1)
        async with PushReader(gateway, member.token, resume_after=oldest) as reader:
            await reader.wait_for_intents([intent_id], within=BATCH_TIMEOUT)
        assert reader.ids == await push_ids(redis, member, oldest)
        return reader.ids

    replayed = await eventually_async(resumes_from_the_oldest, within=BATCH_TIMEOUT, what="resume from the oldest")
    assert replayed


async def test_cursor_newer_than_the_newest_entry_is_out_of_range(
    gateway: GatewayClient, redis: aioredis.Redis, member: Member
) -> None:
    """A cursor the gateway never issued, or one from before the push stream lost its data, is refused:
    accepted, it would replay nothing and then hide every live event up to it."""
    await send(redis, PUSH_TYPES[0], member)
    await wait_on_stream(redis, member, "0-0", 1)
    newest_ms, _ = streams.entry_order(await push_cursor(redis))
    ahead = f"{newest_ms + 60_000}-0"

    async with PushReader(gateway, member.token, resume_after=ahead) as reader:
        status = await reader.wait_ended(within=DELIVERY_TIMEOUT)

    assert status == grpc.StatusCode.OUT_OF_RANGE, reader.error
    assert reader.events == [], "events were sent before the refusal"
    assert reader.error is not None
    details = reader.error.details() or ""
    assert ahead in details, details
    assert "subscribe without resume_after" in details, details


async def test_cursor_at_the_newest_entry_gets_the_next_event(
    gateway: GatewayClient, redis: aioredis.Redis, member: Member
) -> None:
    """The control of the refusal above: the newest entry is a valid cursor; nothing is replayed, and what
    is pushed next arrives once."""
    await send(redis, PUSH_TYPES[0], member)
    await wait_on_stream(redis, member, "0-0", 1)
    newest = await push_cursor(redis)

    async with PushReader(gateway, member.token, resume_after=newest) as reader:
        [intent_id] = await send(redis, PUSH_TYPES[0], member)
        await reader.wait_for_intents([intent_id], within=DELIVERY_TIMEOUT)

    assert reader.intent_ids == [intent_id]
    assert reader.ids == await push_ids(redis, member, newest)


# PAGES_BACKLOG + DURING_REPLAY intents of one user keep Notification Service busy for seconds: a test beside
# it would wait behind them past its own delivery bound, so it holds the boundary alone.
@pytest.mark.disruptive
async def test_resume_across_replay_pages_while_events_keep_coming(
    gateway: GatewayClient, redis: aioredis.Redis, member: Member
) -> None:
    """The gateway opens the subscription before its replay reads, so an event pushed while a long replay
    delivers its first page is both queued live and read by the last page: the client still gets it once.

    The replay's first page (PAGES_BACKLOG entries already on the stream) keeps the gateway busy while
    Notification Service pushes DURING_REPLAY more; the newest of them when the last page is read was
    pushed after the subscription opened, so a gateway that delivered it twice fails this test.
    """
    cursor = await push_cursor(redis)
    backlog = await send(redis, PUSH_TYPES[0], member, PAGES_BACKLOG)
    await wait_on_stream(redis, member, cursor, PAGES_BACKLOG, within=REPLAY_TIMEOUT)

    during = await send(redis, PUSH_TYPES[0], member, DURING_REPLAY)
    async with PushReader(gateway, member.token, resume_after=cursor) as reader:
        await reader.wait_for_intents(backlog + during, within=REPLAY_TIMEOUT)
        [marker] = await send(redis, PUSH_TYPES[0], member)
        await reader.wait_for_intents([marker], within=DELIVERY_TIMEOUT)

    on_stream = await push_ids(redis, member, cursor)
    duplicated = sorted({i for i in reader.ids if reader.ids.count(i) > 1})
    assert not duplicated, f"events delivered more than once: {duplicated[:5]}"
    assert reader.ids == on_stream, "the events received differ from the user's gateway:push entries"
    assert reader.intent_ids == backlog + during + [marker]


@pytest.mark.parametrize("cursor", ["not-an-id", "12", "-1-0", "1-2-3"])
async def test_malformed_cursor_is_invalid_argument(gateway: GatewayClient, member: Member, cursor: str) -> None:
    async with PushReader(gateway, member.token, resume_after=cursor) as reader:
        status = await reader.wait_ended(within=DELIVERY_TIMEOUT)

    assert status == grpc.StatusCode.INVALID_ARGUMENT, reader.error
