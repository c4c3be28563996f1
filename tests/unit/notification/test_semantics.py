"""Delivery semantics: dead letters with reasons, pending and reclaimed on outages, poison, never stalling."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import fakeredis
import pytest

from galaxy.notification.domain.model import Outcome
from galaxy.notification.transport.stream import Consumer
from galaxy_contracts import redis_keys, streams
from tests.unit.notification.helpers import (
    TYPES,
    WITH_PARAMS,
    UserDouble,
    dead,
    intent,
    new_id,
    pending,
    pushes,
    sample,
    until,
    write,
)


def _dead_entry(entry: dict[str, str], reason: str, source_id: str) -> dict[str, Any]:
    streams.validate(redis_keys.NOTIFICATION_INTENTS_DEAD, entry)
    assert (entry["reason"], entry["source_id"], entry["source_stream"]) == (reason, source_id, "notification:intents")
    return entry


@pytest.mark.parametrize("intent_type", TYPES)
async def test_a_missing_user_is_acknowledged_and_dead_lettered_with_its_reason(
    intent_type: str, consumer: Consumer, redis: fakeredis.FakeAsyncRedis
) -> None:
    before = sample("galaxy_notification_dead_letters_total", reason="user_not_found")
    fields = intent(intent_type, new_id("u"))
    entry_id = await write(redis, fields)

    [handled] = await consumer.step()

    assert handled.outcome is Outcome.DEAD_LETTERED
    [entry] = await dead(redis)
    _dead_entry(entry, "user_not_found", entry_id)
    assert json.loads(entry["entry"]) == fields
    assert entry["deliveries"] == "1"
    assert await pending(redis) == []
    assert sample("galaxy_notification_dead_letters_total", reason="user_not_found") == before + 1


async def test_intents_after_a_missing_user_keep_flowing(
    consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    await write(redis, intent("account.updated", new_id("u")))
    await write(redis, intent("account.updated", users.add()))

    await consumer.step()

    assert len(await dead(redis)) == 1
    assert len(await pushes(redis)) == 1


def _bad_intents() -> list[Any]:
    user_id = new_id("u")
    good = intent("account.welcome", user_id)
    cases = [
        pytest.param(good | {"type": "nope.never_heard"}, "unknown_type", id="unknown-type"),
        pytest.param(good | {"intent_id": "42"}, "invalid_entry", id="bad-intent-id"),
        pytest.param(good | {"extra": "x"}, "invalid_entry", id="unknown-field"),
        pytest.param({k: v for k, v in good.items() if k != "user_id"}, "invalid_entry", id="missing-field"),
        pytest.param(good | {"params": "{not json"}, "invalid_entry", id="params-not-json"),
        pytest.param(good | {"params": "[1, 2]"}, "invalid_entry", id="params-not-object"),
        pytest.param(good | {"params": '{"recipient": "me"}'}, "invalid_entry", id="reserved-param"),
        pytest.param(good | {"occurred_at": "yesterday"}, "invalid_entry", id="bad-time"),
    ]
    cases += [
        pytest.param(intent(t, user_id, params="{}"), "invalid_entry", id=f"{t}-without-params") for t in WITH_PARAMS
    ]
    return cases


@pytest.mark.parametrize(("fields", "reason"), _bad_intents())
async def test_a_bad_intent_is_acknowledged_and_dead_lettered(
    fields: dict[str, str], reason: str, consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    users.accounts[fields.get("user_id", "")] = {}  # never asked: a bad intent is refused before enrichment
    entry_id = await write(redis, fields)

    [handled] = await consumer.step()

    assert handled.outcome is Outcome.DEAD_LETTERED
    [entry] = await dead(redis)
    _dead_entry(entry, reason, entry_id)
    assert entry["detail"]
    assert users.calls == []
    assert await pending(redis) == []


async def test_an_entry_that_is_not_utf8_is_dead_lettered_not_stuck(
    consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    fields = intent("account.welcome", users.add())
    await redis.execute_command("XADD", redis_keys.NOTIFICATION_INTENTS, "*", "intent_id", b"\xff\xfe", "type", "x")
    await write(redis, fields)

    handled = await consumer.step()

    assert [h.outcome for h in handled] == [Outcome.DEAD_LETTERED, Outcome.DELIVERED]
    [entry] = await dead(redis)
    assert entry["reason"] == "invalid_entry"
    assert await pending(redis) == []


@pytest.mark.parametrize("fault", ["down", "timing_out", "failing"])
async def test_user_service_unavailable_leaves_the_intent_pending_until_it_is_back(
    fault: str, consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    user_id = users.add()
    _plant(users, fault, user_id)
    await write(redis, intent("account.welcome", user_id))

    [handled] = await consumer.step()

    assert handled.outcome is Outcome.RETRY
    assert await pushes(redis) == []
    assert await dead(redis) == []
    assert len(await pending(redis)) == 1

    _heal(users)
    [handled] = await consumer.step()

    assert handled.outcome is Outcome.DELIVERED
    assert len(await pushes(redis)) == 1
    assert await pending(redis) == []


async def test_a_pending_intent_is_not_reclaimed_before_the_minimum_idle_time(
    make_consumer: Callable[..., Consumer], redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    consumer = make_consumer(reclaim_min_idle_ms=60_000)
    user_id = users.add()
    users.down = True
    await write(redis, intent("account.welcome", user_id))
    await consumer.step()
    users.down = False

    assert await consumer.step() == []

    assert users.calls_for(user_id) == 1
    assert len(await pending(redis)) == 1


async def test_another_consumer_reclaims_what_a_dead_consumer_left_pending(
    make_consumer: Callable[..., Consumer], redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    """A consumer that read an intent and died never acknowledges it; a live one delivers it."""
    crashed, alive = make_consumer(consumer_name="crashed"), make_consumer(consumer_name="alive")
    await write(redis, intent("account.welcome", users.add()))
    await _read_and_die(crashed)

    [handled] = await alive.step()

    assert handled.outcome is Outcome.DELIVERED
    assert len(await pushes(redis)) == 1
    assert await pending(redis) == []


async def test_a_slow_user_lookup_holds_up_no_other_user(
    consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    stuck, fine = users.add(), users.add()
    users.hanging.add(stuck)
    await write(redis, intent("account.updated", stuck))
    await write(redis, intent("account.updated", fine))
    await write(redis, intent("account.updated", fine))

    step = asyncio.create_task(consumer.step())
    try:
        await until(lambda: _users_pushed(redis), [fine, fine])
    finally:
        users.release.set()
        await step

    assert sorted(p["user_id"] for p in await pushes(redis)) == sorted([fine, fine, stuck])


async def test_a_user_lookup_that_times_out_is_retried_while_others_flow(
    make_consumer: Callable[..., Consumer], redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    consumer = make_consumer(downstream_timeout_seconds=0.05)
    stuck, fine = users.add(), users.add()
    users.hanging.add(stuck)
    await write(redis, intent("account.updated", stuck))
    await write(redis, intent("account.updated", fine))

    handled = await consumer.step()

    assert sorted(h.outcome for h in handled) == sorted([Outcome.RETRY, Outcome.DELIVERED])
    assert [p["user_id"] for p in await pushes(redis)] == [fine]
    assert [row["consumer"] for row in await pending(redis)] == [consumer.name]
    users.hanging.clear()
    await consumer.step()
    assert [p["user_id"] for p in await pushes(redis)] == [fine, stuck]


async def test_an_intent_that_keeps_failing_is_dead_lettered_after_max_deliveries(
    consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    max_deliveries = 3  # conftest
    poisoned, fine = users.add(), users.add()
    users.failing.add(poisoned)
    entry_id = await write(redis, intent("account.welcome", poisoned))
    outcomes = []
    for _ in range(max_deliveries):
        await write(redis, intent("account.updated", fine))
        outcomes += [h.outcome for h in await consumer.step() if h.outcome is not Outcome.DELIVERED]

    assert outcomes == [Outcome.RETRY] * (max_deliveries - 1) + [Outcome.DEAD_LETTERED]
    [entry] = await dead(redis)
    _dead_entry(entry, "poison", entry_id)
    assert entry["deliveries"] == str(max_deliveries)
    assert "user service" in entry["detail"]
    assert users.calls_for(poisoned) == max_deliveries
    assert len(await pushes(redis)) == max_deliveries  # the other user's intents kept flowing
    assert await pending(redis) == []


async def test_an_intent_delivered_too_often_without_an_answer_is_dead_lettered_unhandled(
    make_consumer: Callable[..., Consumer], redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    """A poison that kills its consumer each time: its delivery count still grows, and it ends dead."""
    user_id = users.add()
    entry_id = await write(redis, intent("account.welcome", user_id))
    for n in range(3):  # conftest: max_deliveries 3; each crashed consumer read it once
        await _read_and_die(make_consumer(consumer_name=f"crashed-{n}"))

    [handled] = await make_consumer(consumer_name="survivor").step()

    assert handled.outcome is Outcome.DEAD_LETTERED
    [entry] = await dead(redis)
    _dead_entry(entry, "poison", entry_id)
    assert entry["deliveries"] == "4"
    assert users.calls_for(user_id) == 0


async def test_an_unexpected_failure_leaves_the_intent_pending_and_the_loop_going(
    consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    broken, fine = users.add(), users.add()
    users.accounts[broken] = {"not": "an account"}  # User Service outside its contract
    await write(redis, intent("account.updated", broken))
    await write(redis, intent("account.updated", fine))

    handled = await consumer.step()

    assert sorted(h.outcome for h in handled) == sorted([Outcome.RETRY, Outcome.DELIVERED])
    assert len(await pending(redis)) == 1


async def test_intents_written_before_the_first_consumer_started_are_handled(
    consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    await write(redis, intent("account.updated", users.add()))
    assert await redis.exists(redis_keys.NOTIFICATION_INTENTS) == 1

    await consumer.step()

    assert len(await pushes(redis)) == 1


async def test_a_deleted_stream_and_group_are_created_again(
    consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    await consumer.step()
    await redis.delete(redis_keys.NOTIFICATION_INTENTS)

    assert await consumer.step() == []
    await write(redis, intent("account.updated", users.add()))
    await consumer.step()

    assert len(await pushes(redis)) == 1


async def _read_and_die(consumer: Consumer) -> None:
    """What a consumer that crashes while handling leaves behind: entries delivered to it, never acknowledged."""
    await consumer._create_group()
    await consumer._reclaim()
    await consumer._read(block=False)


async def _users_pushed(redis: fakeredis.FakeAsyncRedis) -> list[str]:
    return [p["user_id"] for p in await pushes(redis)]


def _plant(users: UserDouble, fault: str, user_id: str) -> None:
    if fault == "down":
        users.down = True
    else:
        getattr(users, fault).add(user_id)


def _heal(users: UserDouble) -> None:
    users.down = False
    users.timing_out.clear()
    users.failing.clear()
