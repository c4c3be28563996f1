"""Intents on notification:intents: the catalog's types, exactly one per type and user, waited for."""

from __future__ import annotations

from collections.abc import AsyncIterator

import fakeredis
import pytest
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys, streams
from tests.harness import intents
from tests.harness.waits import WaitTimeout

STREAM = redis_keys.NOTIFICATION_INTENTS


@pytest.fixture
async def redis() -> AsyncIterator[aioredis.Redis]:
    client = fakeredis.FakeAsyncRedis(decode_responses=True)
    yield client
    await client.aclose()


@pytest.mark.parametrize("intent_type", [intents.WELCOME, intents.UPDATED])
def test_named_types_are_in_the_catalog(intent_type: str) -> None:
    assert intent_type in streams.catalog()["types"]


async def test_the_intent_is_the_one_of_that_type_and_user(redis: aioredis.Redis) -> None:
    await redis.xadd(STREAM, {"type": intents.UPDATED, "user_id": "u_1", "params": "{}"})
    await redis.xadd(STREAM, {"type": intents.WELCOME, "user_id": "u_2", "params": "{}"})
    await redis.xadd(STREAM, {"type": intents.WELCOME, "user_id": "u_1", "params": '{"x": 1}'})

    found = await intents.the_intent(redis, intents.WELCOME, "u_1", within=0.1)

    assert found == {"type": intents.WELCOME, "user_id": "u_1", "params": '{"x": 1}'}


@pytest.mark.parametrize("copies", [0, 2], ids=["none", "two"])
async def test_none_or_several_fail_after_the_deadline(redis: aioredis.Redis, copies: int) -> None:
    for _ in range(copies):
        await redis.xadd(STREAM, {"type": intents.WELCOME, "user_id": "u_1"})

    with pytest.raises(WaitTimeout, match=f"{copies} entries on {STREAM}"):
        await intents.the_intent(redis, intents.WELCOME, "u_1", within=0.1)
