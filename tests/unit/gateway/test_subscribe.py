"""Subscribe: gateway:push fanned out per user, resumable without gaps or duplicates, bounded per client."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import fakeredis
import grpc
import pytest
import redis.exceptions

from galaxy.gateway.domain import service
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


async def push(lab: Lab, user_id: str, n: int = 0, *, at: str = "*", **overrides: str) -> str:
    return str(await lab.redis.xadd(redis_keys.GATEWAY_PUSH, entry(user_id, n, **overrides), id=at))


def shifted(entry_id: str, *, ms: int = 0, seq: int = 0) -> str:
    """The stream id ``ms`` milliseconds and ``seq`` sequence numbers after ``entry_id``."""
    at_ms, _, at_seq = entry_id.partition("-")
    return f"{int(at_ms) + ms}-{int(at_seq) + seq}"


LAST_POSSIBLE_ID = f"{2**64 - 1}-{2**64 - 1}"


class Stream:
    def __init__(self, call: Any) -> None:
        self.call = call
        self.received: list[pb.PushEvent] = []  # what ``error`` read before the stream failed

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
                self.received.append(message)


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


AHEAD: dict[str, Callable[[str], str]] = {
    "next-sequence": lambda newest: shifted(newest, seq=1),
    "a-minute-ahead": lambda newest: f"{shifted(newest, ms=60_000).partition('-')[0]}-0",
    "the-greatest-id": lambda newest: LAST_POSSIBLE_ID,
}


@pytest.mark.parametrize("ahead", AHEAD.values(), ids=AHEAD.keys())
async def test_a_cursor_newer_than_the_newest_entry_is_out_of_range(
    lab: Lab, subscribe: Any, ahead: Callable[[str], str]
) -> None:
    """Accepted, it would replay nothing and then hide every live entry up to it."""
    ada = await lab.login()
    newest = [await push(lab, ada["user_id"], n) for n in range(3)][-1]
    cursor = ahead(newest)

    stream = subscribe(ada, resume_after=cursor)
    error = await stream.error()

    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    assert f"resume_after {cursor} is newer than the newest retained push event ({newest})" in error.details()
    assert "subscribe without resume_after" in error.details()
    assert stream.received == []
    await until_open(lab, 0)


@pytest.mark.parametrize("cursor", ["0-1", "1-0", "1700000000000-0"])
async def test_on_an_empty_stream_any_cursor_but_0_0_is_out_of_range(lab: Lab, subscribe: Any, cursor: str) -> None:
    ada = await lab.login()

    error = await subscribe(ada, resume_after=cursor).error()

    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    assert "(none: the push stream is empty)" in error.details()
    assert "subscribe without resume_after" in error.details()


async def test_a_cursor_from_before_the_stream_lost_its_data_is_out_of_range(lab: Lab, subscribe: Any) -> None:
    ada = await lab.login()
    seen = await push(lab, ada["user_id"])
    await lab.redis.delete(redis_keys.GATEWAY_PUSH)

    error = await subscribe(ada, resume_after=seen).error()

    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    assert seen in error.details()


async def test_0_0_on_an_empty_stream_follows_from_the_first_entry(lab: Lab, subscribe: Any) -> None:
    ada = await lab.login()
    stream = subscribe(ada, resume_after="0-0")
    await until_open(lab, 1)

    first = await push(lab, ada["user_id"])

    assert ids(await stream.take(1)) == [first]


async def test_0_0_on_a_non_empty_stream_is_failed_precondition(lab: Lab, subscribe: Any) -> None:
    """The stream may have been trimmed: the gateway cannot tell the client missed nothing."""
    ada = await lab.login()
    await push(lab, ada["user_id"])

    error = await subscribe(ada, resume_after="0-0").error()

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize(
    ("cursor", "replayed"),
    [
        ("1000-1", ["3000-0", "3000-5"]),
        ("2500-7", ["3000-0", "3000-5"]),
        ("3000-3", ["3000-5"]),
        ("3000-5", []),
    ],
)
async def test_any_cursor_within_the_retained_stream_resumes_after_it_issued_or_not(
    lab: Lab, subscribe: Any, cursor: str, replayed: list[str]
) -> None:
    ada, bob = await lab.login("ada@example.com"), await lab.login("bob@example.com")
    for at, who in [("1000-0", ada), ("2000-0", bob), ("3000-0", ada), ("3000-5", ada)]:
        await push(lab, who["user_id"], at=at)

    stream = subscribe(ada, resume_after=cursor)

    assert ids(await stream.take(len(replayed))) == replayed
    await until_open(lab, 1)
    live = await push(lab, ada["user_id"])
    assert ids(await stream.take(1)) == [live]


class LateTransaction:
    """A pipeline whose transaction starts only once ``first`` has run."""

    def __init__(self, pipeline: Any, first: Callable[[], Awaitable[None]]) -> None:
        self._pipeline = pipeline
        self._first = first

    async def __aenter__(self) -> Any:
        await self._first()
        return await self._pipeline.__aenter__()

    async def __aexit__(self, *exc: object) -> Any:
        return await self._pipeline.__aexit__(*exc)


async def test_an_entry_both_replayed_and_live_is_delivered_once(
    lab: Lab, subscribe: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The subscription opens before the replay reads, so an entry written in between reaches the stream twice:
    queued live and read by the replay. The client gets it once, and what follows."""
    ada = await lab.login()
    cursor = await push(lab, ada["user_id"], 0)
    await until_following(lab)
    between: list[str] = []
    pipeline = lab.redis.pipeline

    async def push_and_dispatch() -> None:
        between.append(await push(lab, ada["user_id"], 1))

        async def dispatched() -> bool:
            return lab.running.consumer.position == between[0]

        await until_async(dispatched, within=WITHIN, what="the entry queued to the open subscription")

    def late_first_read(*args: Any, **kwargs: Any) -> Any:
        first = not between
        real = pipeline(*args, **kwargs)
        return LateTransaction(real, push_and_dispatch) if first else real

    monkeypatch.setattr(lab.redis, "pipeline", late_first_read)

    stream = subscribe(ada, resume_after=cursor)

    assert ids(await stream.take(1)) == between
    then = await push(lab, ada["user_id"], 2)
    assert ids(await stream.take(1)) == [then]


async def test_losing_the_stream_during_a_replay_is_out_of_range(
    lab: Lab, subscribe: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "REPLAY_PAGE", 2)
    ada = await lab.login()
    pushed = [await push(lab, ada["user_id"], n) for n in range(5)]
    pipeline, reads = lab.redis.pipeline, []

    def losing_data_before_the_second_page(*args: Any, **kwargs: Any) -> Any:
        reads.append(args)
        if len(reads) == 2:
            fakeredis.FakeRedis(server=lab.server).delete(redis_keys.GATEWAY_PUSH)
        return pipeline(*args, **kwargs)

    monkeypatch.setattr(lab.redis, "pipeline", losing_data_before_the_second_page)

    stream = subscribe(ada, resume_after=pushed[0])
    error = await stream.error()

    assert error.code() == grpc.StatusCode.OUT_OF_RANGE
    assert ids(stream.received) == pushed[1:3]
    assert f"lost events while resuming after {pushed[0]}" in error.details()


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
