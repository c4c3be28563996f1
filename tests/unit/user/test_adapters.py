"""The Redis adapters against fakeredis: key layout, atomic create, stream entries."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime

import fakeredis
import pytest

from galaxy.user.adapters.accounts import RedisAccountStore, intent_entry
from galaxy.user.domain.errors import StaleAccount
from galaxy.user.domain.model import Account, Intent
from galaxy_contracts import streams

T0 = datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


async def test_accounts_round_trip_under_private_user_keys(redis: fakeredis.FakeAsyncRedis) -> None:
    store = RedisAccountStore(redis)
    account = Account.new("rt@example.com", "fr", T0)

    stored, created = await store.create_or_get(account)

    assert created is True
    assert stored == account
    assert await store.get(account.user_id) == account
    assert sorted(await redis.keys("*")) == [f"user:account:{account.user_id}", "user:email:rt@example.com"]


async def test_create_or_get_is_atomic(redis: fakeredis.FakeAsyncRedis) -> None:
    store = RedisAccountStore(redis)
    candidates = [Account.new("same@example.com", None, T0) for _ in range(25)]

    results = await asyncio.gather(*(store.create_or_get(c) for c in candidates))

    assert [created for _, created in results].count(True) == 1
    assert len({account.user_id for account, _ in results}) == 1
    assert len(await redis.keys("user:account:*")) == 1


async def test_save_never_recreates_a_missing_account(redis: fakeredis.FakeAsyncRedis) -> None:
    store = RedisAccountStore(redis)

    ghost = Account.new("ghost@example.com", None, T0)

    assert await store.save(replace(ghost, display_name="G"), ["display_name"], replacing=ghost) is False
    assert await redis.keys("*") == []


async def test_save_writes_only_the_named_attributes(redis: fakeredis.FakeAsyncRedis) -> None:
    store = RedisAccountStore(redis)
    account, _ = await store.create_or_get(Account.new("w@example.com", None, T0))

    await store.save(replace(account, display_name="W", locale="de"), ["display_name"], replacing=account)

    fields = await redis.hgetall(f"user:account:{account.user_id}")
    assert (fields["display_name"], fields["locale"]) == ("W", "en")


async def test_save_over_a_changed_account_writes_nothing_and_says_stale(redis: fakeredis.FakeAsyncRedis) -> None:
    store = RedisAccountStore(redis)
    account, _ = await store.create_or_get(Account.new("stale@example.com", None, T0))
    await redis.hset(f"user:account:{account.user_id}", "locale", "de")  # a concurrent writer's change
    intent = Intent("account.updated", account.user_id, {"changed_fields": "display_name"}, T0)

    with pytest.raises(StaleAccount):
        await store.save(replace(account, display_name="S"), ["display_name"], intent, replacing=account)

    fields = await redis.hgetall(f"user:account:{account.user_id}")
    assert (fields["display_name"], fields["locale"]) == (account.display_name, "de")
    assert await redis.exists("notification:intents") == 0


def test_entry_matches_the_stream_schema() -> None:
    intent = Intent("account.updated", f"u_{'b' * 32}", {"changed_fields": "locale"}, T0)

    fields = intent_entry(intent)

    streams.validate("notification:intents", fields)
    assert json.loads(fields["params"]) == {"changed_fields": "locale"}
    assert fields["producer"] == "user"


@pytest.mark.parametrize(
    "intent",
    [
        Intent("account.updated", "not-a-user", {"changed_fields": "locale"}, T0),
        Intent("account.updated", f"u_{'b' * 32}", {}, T0),
        Intent("account.renamed", f"u_{'b' * 32}", {"changed_fields": "x"}, T0),
        Intent("account.updated", f"u_{'b' * 32}", {"changed_fields": "x"}, T0, intent_id="i_short"),
    ],
    ids=["bad-user-id", "missing-param", "not-in-catalog", "bad-intent-id"],
)
async def test_an_invalid_intent_is_never_written_nor_its_change(
    redis: fakeredis.FakeAsyncRedis, intent: Intent
) -> None:
    store = RedisAccountStore(redis)
    account, _ = await store.create_or_get(Account.new("kept@example.com", None, T0))

    with pytest.raises(streams.InvalidEntry):
        await store.save(replace(account, display_name="Changed"), ["display_name"], intent, replacing=account)

    assert await redis.exists("notification:intents") == 0
    stored = await store.get(account.user_id)
    assert stored is not None
    assert stored.display_name == account.display_name


async def test_a_change_and_its_intent_are_written_together(redis: fakeredis.FakeAsyncRedis) -> None:
    store = RedisAccountStore(redis)
    account, _ = await store.create_or_get(Account.new("both@example.com", None, T0))
    intent = Intent("account.updated", account.user_id, {"changed_fields": "display_name"}, T0)

    assert await store.save(replace(account, display_name="Both"), ["display_name"], intent, replacing=account)

    [(_, fields)] = await redis.xrange("notification:intents")
    assert fields["intent_id"] == intent.intent_id
    stored = await store.get(account.user_id)
    assert stored is not None
    assert stored.display_name == "Both"
