"""The Redis part of a failure report: which keys a command touched, and what those keys hold."""

from __future__ import annotations

from collections.abc import Iterator

import fakeredis
import pytest

from galaxylab import touched
from galaxylab.cli import keys


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        pytest.param(("XADD", "notification:intents", "*", "type", "x"), ["notification:intents"], id="first-arg"),
        pytest.param((b"HGETALL", b"session:s1"), ["session:s1"], id="bytes"),
        pytest.param(("DEL", "a", "b"), ["a", "b"], id="all-args"),
        pytest.param(
            ("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s1", "s2", ">", ">"), ["s1", "s2"], id="streams"
        ),
        pytest.param(("XINFO", "GROUPS", "gateway:push"), ["gateway:push"], id="subcommand"),
        pytest.param(("EVALSHA", "abc", "2", "k1", "k2", "arg"), ["k1", "k2"], id="script"),
        pytest.param(("KEYS", "*"), [], id="no-key"),
        pytest.param(("PING",), [], id="ping"),
    ],
)
def test_command_keys(command: tuple[object, ...], expected: list[str]) -> None:
    assert touched.command_keys(command) == expected


def test_nothing_is_recorded_outside_a_recording() -> None:
    touched.record(("GET", "k"))
    touched.begin()
    try:
        touched.record(("GET", "k"))
        touched.record(("SET", "k", "v"))
        touched.record(("XADD", "s", "*", "f", "v"))
        assert touched.keys() == ["k", "s"]
    finally:
        touched.end()
    assert touched.keys() == []


@pytest.fixture
def client() -> Iterator[fakeredis.FakeRedis]:
    server = fakeredis.FakeRedis(decode_responses=True)
    yield server
    server.close()


def test_a_stream_shows_its_length_newest_entries_and_groups(client: fakeredis.FakeRedis) -> None:
    for n in range(8):
        client.xadd("mail:deliveries", {"n": str(n), "token": "tok-secret-value"})
    client.xgroup_create("mail:deliveries", "mail", id="0")
    text = keys.describe_all(client, ["mail:deliveries"])
    assert text.startswith("mail:deliveries  (stream, 8 entries)")
    assert "n: 7" in text
    assert "n: 3" in text
    assert "n: 2" not in text
    assert "group mail: last-delivered 0-0, pending 0, consumers 0" in text
    assert "tok-secret-value" not in text


def test_each_kind_of_key_and_a_missing_one(client: fakeredis.FakeRedis) -> None:
    client.hset("account:u1", mapping={"email": "a@example.test", "code_hash": "abc123"})
    client.set("limit:x", "3", ex=60)
    client.rpush("queue", *[f"i{n}" for n in range(7)])
    client.zadd("due", {"d1": 10, "d2": 20})
    client.sadd("members", "m1", "m2")
    text = keys.describe_all(client, ["account:u1", "limit:x", "queue", "due", "members", "gone"])
    assert "account:u1  (hash, 2 fields)" in text
    assert "a@example.test" in text
    assert "abc123" not in text
    assert "limit:x  (string, 1 chars, ttl " in text
    assert "queue  (list, 7 items)" in text
    assert "[6] i6" in text
    assert "i1" not in text
    assert "due  (zset, 2 members)" in text
    assert "20 d2" in text
    assert "members  (set, 2 members)" in text
    assert "m1, m2" in text
    assert "gone  (no such key now)" in text


def test_an_unreachable_redis_is_one_line() -> None:
    assert keys.dump("redis://127.0.0.1:1/0", ["k"]).startswith("could not read the boundary's Redis:")
