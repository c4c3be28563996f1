"""The push log in Redis: a replay page and the retained window it was read from, in one transaction."""

from __future__ import annotations

from typing import Any

import fakeredis
import pytest
from redis.asyncio.client import Pipeline

from galaxy.gateway.adapters.push_log import LAST_POSSIBLE_ID, RedisPushLog
from galaxy_contracts import redis_keys

IDS = ["1-0", "2-0", "2-1", "4-0", "5-0"]


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
async def redis(server: fakeredis.FakeServer) -> Any:
    """The push log's client."""
    client = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    yield client
    await client.aclose()


async def add(redis: Any, *entry_ids: str) -> None:
    for entry_id in entry_ids:
        await redis.xadd(redis_keys.GATEWAY_PUSH, {"n": entry_id}, id=entry_id)


@pytest.fixture
def transactions(redis: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, list[str]]]:
    """Every pipeline executed (transaction or not, its commands); a command sent on its own fails the test."""
    executed: list[tuple[bool, list[str]]] = []
    execute = Pipeline.execute

    async def recording(self: Pipeline, raise_on_error: bool = True) -> Any:
        executed.append((self.is_transaction, [str(args[0]) for args, _ in self.command_stack]))
        return await execute(self, raise_on_error)

    async def alone(*args: Any, **_: Any) -> Any:
        pytest.fail(f"{args[0]} sent outside the transaction")

    monkeypatch.setattr(Pipeline, "execute", recording)
    monkeypatch.setattr(redis, "execute_command", alone)
    return executed


@pytest.mark.parametrize(
    ("after", "count", "expected"),
    [("0-0", 10, IDS), ("2-0", 2, ["2-1", "4-0"]), ("3-7", 10, ["4-0", "5-0"]), ("4-0", 10, ["5-0"])],
)
async def test_a_page_holds_the_entries_strictly_after_the_cursor(
    redis: Any, after: str, count: int, expected: list[str]
) -> None:
    await add(redis, *IDS)

    page = await RedisPushLog(redis).page_after(after, count, budget=1.0)

    assert [entry_id for entry_id, _ in page.entries] == expected
    assert page.entries[0][1] == {"n": expected[0]}
    assert (page.oldest, page.newest) == ("1-0", "5-0")


@pytest.mark.parametrize("after", ["5-0", "5-1", "99-0", LAST_POSSIBLE_ID])
async def test_a_cursor_at_or_past_the_newest_entry_reads_none_and_the_window(redis: Any, after: str) -> None:
    await add(redis, *IDS)

    page = await RedisPushLog(redis).page_after(after, 10, budget=1.0)

    assert (page.oldest, page.newest, list(page.entries)) == ("1-0", "5-0", [])


async def test_an_empty_stream_has_no_window(redis: Any) -> None:
    await add(redis, "1-0")
    await redis.xtrim(redis_keys.GATEWAY_PUSH, maxlen=0, approximate=False)

    page = await RedisPushLog(redis).page_after("0-0", 10, budget=1.0)

    assert (page.oldest, page.newest, list(page.entries)) == (None, None, [])


async def test_a_missing_stream_has_no_window(redis: Any) -> None:
    page = await RedisPushLog(redis).page_after("3-0", 10, budget=1.0)

    assert (page.oldest, page.newest, list(page.entries)) == (None, None, [])


async def test_the_window_and_the_page_are_read_in_one_transaction(
    server: fakeredis.FakeServer, redis: Any, transactions: list[tuple[bool, list[str]]]
) -> None:
    """Nothing added or trimmed between the ends and the page: the domain's checks hold for what it replays."""
    async with fakeredis.FakeAsyncRedis(server=server) as writer:
        await add(writer, *IDS)

    page = await RedisPushLog(redis).page_after("2-0", 10, budget=1.0)

    assert transactions == [(True, ["XRANGE", "XREVRANGE", "XRANGE"])]
    assert (page.oldest, page.newest, len(page.entries)) == ("1-0", "5-0", 3)


async def test_the_greatest_id_is_never_an_exclusive_start(
    redis: Any, transactions: list[tuple[bool, list[str]]]
) -> None:
    """Redis refuses it (``invalid start ID for the interval``), and nothing can follow it anyway."""
    await RedisPushLog(redis).page_after(LAST_POSSIBLE_ID, 10, budget=1.0)

    assert transactions == [(True, ["XRANGE", "XREVRANGE"])]
