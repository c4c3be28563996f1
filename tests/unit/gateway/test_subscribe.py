"""Subscribe: gateway:push fanned out per user, resumable without gaps or duplicates, bounded per client."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
import redis.exceptions

from galaxy_contracts import redis_keys
from galaxy_contracts.gateway import bearer, pb, pb_grpc
from tests.harness.rpc import field_violations
from tests.harness.waits import until_async
from tests.unit.gateway.helpers import Lab

Session = dict[str, Any]
WITHIN = 5.0


def entry(user_id: str, n: int = 0, **overrides: str) -> dict[str, str]:
    fields = {
        "intent_id": "i_" + secrets.token_hex(16),
        "type": "account.welcome",
        "user_id": user_id,
        "title": f"title {n}",
        "body": f"body {n}",
        "data": json.dumps({"n": n}),
        "created_at": datetime.now(UTC).isoformat(),
    }
    return fields | overrides


async def push(lab: Lab, user_id: str, n: int = 0, **overrides: str) -> str:
    return str(await lab.redis.xadd(redis_keys.GATEWAY_PUSH, entry(user_id, n, **overrides)))


class Stream:
    def __init__(self, call: Any) -> None:
        self.call = call

    async def take(self, count: int, within: float = 5.0) -> list[pb.PushEvent]:
        events = []
        async with asyncio.timeout(within):
            while len(events) < count:
                message = await self.call.read()
                assert message is not grpc.aio.EOF, "stream ended early"
                events.append(message)
        return events

    async def error(self, within: float = 5.0) -> grpc.aio.AioRpcError:
        """Read until the stream fails; its status."""
        async with asyncio.timeout(within):
            while True:
                try:
                    message = await self.call.read()
                except grpc.aio.AioRpcError as exc:
                    return exc
                if message is grpc.aio.EOF:
                    pytest.fail("the stream ended with OK")


@pytest.fixture
async def subscribe(lab: Lab) -> AsyncIterator[Any]:
    streams: list[Stream] = []

    def open_stream(session: Session, resume_after: str = "", stub: Any = None) -> Stream:
        stub = stub or lab.stub
        request = pb.SubscribeRequest(resume_after=resume_after)
        stream = Stream(stub.Subscribe(request, metadata=bearer(session["session_token"])))
        streams.append(stream)
        return stream

    yield open_stream
    for stream in streams:
        stream.call.cancel()


async def until_open(lab: Lab, count: int) -> None:
    """Subscriptions registered and the reader following the stream: what is pushed now is delivered."""

    async def ready() -> bool:
        return lab.running.hub.open_count == count and lab.running.consumer.position is not None

    await until_async(ready, within=WITHIN, what=f"{count} open subscription(s)")


async def until_following(lab: Lab) -> None:
    """The push consumer has found the stream's end: what is pushed now is delivered."""

    async def following() -> bool:
        return lab.running.consumer.position is not None

    await until_async(following, within=WITHIN, what="the push consumer")


def ids(events: list[pb.PushEvent]) -> list[str]:
    return [event.event_id for event in events]


async def test_an_entry_reaches_every_subscription_of_its_user_and_no_other(lab: Lab, subscribe: Any) -> None:
    ada, bob = await lab.login("ada@example.com"), await lab.login("bob@example.com")
    ada_phone, ada_laptop, bob_phone = subscribe(ada), subscribe(ada), subscribe(bob)
    await until_open(lab, 3)

    for_ada = await push(lab, ada["user_id"], 1)
    for_bob = await push(lab, bob["user_id"], 2)

    assert ids(await ada_phone.take(1)) == [for_ada]
    assert ids(await ada_laptop.take(1)) == [for_ada]
    assert ids(await bob_phone.take(1)) == [for_bob]  # ada's entry came first on the stream, yet never reached bob
    then_ada = await push(lab, ada["user_id"], 3)
    assert ids(await ada_phone.take(1)) == [then_ada]  # and bob's never reached ada


async def test_a_push_event_carries_the_stream_entry(lab: Lab, subscribe: Any) -> None:
    ada = await lab.login()
    stream = subscribe(ada)
    await until_open(lab, 1)
    fields = entry(ada["user_id"], 7, type="account.updated", data='{"changed_fields": ["locale"]}')

    event_id = await lab.redis.xadd(redis_keys.GATEWAY_PUSH, fields)

    [event] = await stream.take(1)
    assert event.event_id == event_id
    assert (event.type, event.title, event.body) == ("account.updated", "title 7", "body 7")
    assert json.loads(event.data_json) == {"changed_fields": ["locale"]}
    assert event.intent_id == fields["intent_id"]
    assert event.created_at.ToDatetime(tzinfo=UTC) == datetime.fromisoformat(fields["created_at"])


async def test_malformed_entries_are_skipped_and_later_ones_delivered(lab: Lab, subscribe: Any) -> None:
    ada = await lab.login()
    stream = subscribe(ada)
    await until_open(lab, 1)

    await lab.redis.xadd(redis_keys.GATEWAY_PUSH, {"user_id": ada["user_id"], "type": "account.welcome"})
    await push(lab, ada["user_id"], data="not json")
    good = await push(lab, ada["user_id"])

    assert ids(await stream.take(1)) == [good]


async def test_resume_replays_what_was_missed_then_continues_live(lab: Lab, subscribe: Any) -> None:
    ada, bob = await lab.login("ada@example.com"), await lab.login("bob@example.com")
    first = subscribe(ada)
    await until_open(lab, 1)
    seen = [await push(lab, ada["user_id"], n) for n in range(3)]
    assert ids(await first.take(3)) == seen
    first.call.cancel()
    await until_open(lab, 0)
    missed = [
        await push(lab, ada["user_id"], 3),
        await push(lab, bob["user_id"], 4),
        await push(lab, ada["user_id"], 5),
    ]

    resumed = subscribe(ada, resume_after=seen[-1])

    assert ids(await resumed.take(2)) == [missed[0], missed[2]]
    await until_open(lab, 1)
    live = await push(lab, ada["user_id"], 6)
    assert ids(await resumed.take(1)) == [live]


async def test_resume_while_entries_keep_arriving_has_no_gaps_or_duplicates(lab: Lab, subscribe: Any) -> None:
    ada, bob = await lab.login("ada@example.com"), await lab.login("bob@example.com")
    before = [await push(lab, ada["user_id"], n) for n in range(30)]
    await until_following(lab)

    async def produce() -> list[str]:
        added = []
        for n in range(30, 230):
            added.append(await push(lab, ada["user_id"], n))
            await push(lab, bob["user_id"], n)
            if n % 10 == 0:
                await asyncio.sleep(0)
        return added

    stream = subscribe(ada, resume_after=before[9])
    producer = asyncio.create_task(produce())
    during = await producer

    expected = before[10:] + during
    assert ids(await stream.take(len(expected), within=20)) == expected


async def test_resume_from_the_newest_entry_replays_nothing(lab: Lab, subscribe: Any) -> None:
    ada = await lab.login()
    newest = await push(lab, ada["user_id"], 1)

    stream = subscribe(ada, resume_after=newest)
    await until_open(lab, 1)
    live = await push(lab, ada["user_id"], 2)

    assert ids(await stream.take(1)) == [live]


async def test_a_cursor_older_than_the_retained_stream_is_failed_precondition(lab: Lab, subscribe: Any) -> None:
    ada = await lab.login()
    pushed = [await push(lab, ada["user_id"], n) for n in range(5)]
    await lab.redis.xtrim(redis_keys.GATEWAY_PUSH, maxlen=2, approximate=False)

    error = await subscribe(ada, resume_after=pushed[1]).error()

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert pushed[1] in error.details()
    assert "older than the oldest retained" in error.details()
    assert ids(await subscribe(ada, resume_after=pushed[3]).take(1)) == [pushed[4]]


@pytest.mark.parametrize("cursor", ["abc", "1-2-3", "-1-0", "1", "99999999999999999999999-0"])
async def test_a_malformed_cursor_is_invalid_argument(lab: Lab, subscribe: Any, cursor: str) -> None:
    ada = await lab.login()

    error = await subscribe(ada, resume_after=cursor).error()

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(field_violations(error)) == ["resume_after"]


async def test_subscribe_needs_a_valid_session(lab: Lab, subscribe: Any) -> None:
    ada = await lab.login()

    error = await subscribe({"session_token": ada["session_token"] + "x"}).error()

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert lab.running.hub.open_count == 0


async def test_a_stream_ends_unauthenticated_once_its_session_is_revoked(lab: Lab, subscribe: Any) -> None:
    ada = await lab.login()
    stream = subscribe(ada)
    await until_open(lab, 1)
    await lab.redis.delete(redis_keys.session(ada["session_id"]))

    await push(lab, ada["user_id"])

    error = await stream.error()
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    await until_open(lab, 0)


async def test_an_idle_stream_ends_unauthenticated_once_its_session_is_revoked(lab: Lab, subscribe: Any) -> None:
    ada = await lab.login()
    stream = subscribe(ada)
    await until_open(lab, 1)
    await lab.redis.delete(redis_keys.session(ada["session_id"]))

    # No event is pushed: the gateway re-checks the session while the stream waits.
    error = await asyncio.wait_for(stream.error(), timeout=5)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    await until_open(lab, 0)


async def test_a_cancelled_stream_is_unregistered(lab: Lab, subscribe: Any) -> None:
    ada = await lab.login()
    stream = subscribe(ada)
    await until_open(lab, 1)

    stream.call.cancel()

    await until_open(lab, 0)


@pytest.mark.parametrize("gateway_options", [{"subscription_queue_size": 4}])
async def test_a_client_that_does_not_read_is_dropped_with_resource_exhausted(lab: Lab, subscribe: Any) -> None:
    """A tiny HTTP/2 window on the client makes the gateway's writes block, so its queue fills."""
    ada = await lab.login()
    options = [("grpc.http2.lookahead_bytes", 1024), ("grpc.http2.bdp_probe", 0)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{lab.running.grpc_port}", options=options) as channel:
        stream = subscribe(ada, stub=pb_grpc.GatewayServiceStub(channel))
        await until_open(lab, 1)
        for n in range(200):
            await push(lab, ada["user_id"], n, body="x" * 2000)

        await until_open(lab, 0)

        error = await stream.error()
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "resume_after" in error.details()


async def test_stopping_the_gateway_ends_streams_with_unavailable(lab: Lab, subscribe: Any) -> None:
    ada = await lab.login()
    stream = subscribe(ada)
    await until_open(lab, 1)

    stopping = asyncio.create_task(lab.running.stop(5))
    error = await stream.error()
    await stopping

    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "resubscribe" in error.details()


async def test_redis_failing_during_replay_is_unavailable(
    lab: Lab, subscribe: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = await lab.login()
    cursor = await push(lab, ada["user_id"])

    def broken(*_: object, **__: object) -> None:
        raise redis.exceptions.ConnectionError("gone")

    monkeypatch.setattr(lab.redis, "pipeline", broken)

    error = await subscribe(ada, resume_after=cursor).error()
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert error.details().startswith("push stream (redis) unavailable")
