"""A change made through the gateway makes User Service emit one schema-valid ``account.updated`` intent."""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys, streams
from galaxy_contracts.gateway import GatewayClient, pb
from tests.harness.intents import UPDATED, the_intent
from tests.harness.sessions import User


def changed_fields(intent: dict[str, str]) -> set[str]:
    value = json.loads(intent["params"])["changed_fields"]
    names = value.split(",") if isinstance(value, str) else value
    return {str(name).strip() for name in names}


CHANGES = [
    pytest.param(["display_name"], pb.Account(display_name="Changed Name"), "display_name", id="name"),
    pytest.param(["locale"], pb.Account(locale="es"), "locale", id="locale"),
    pytest.param(
        ["notification_preferences.push_enabled"],
        pb.Account(notification_preferences=pb.NotificationPreferences(push_enabled=False)),
        "notification_preferences",
        id="preferences",
    ),
]


@pytest.mark.parametrize(("paths", "change", "field"), CHANGES)
async def test_change_emits_one_schema_valid_intent(
    gateway: GatewayClient, redis: aioredis.Redis, user: User, paths: list[str], change: pb.Account, field: str
) -> None:
    await gateway.update_my_account(user.token, change, paths)

    intent = await the_intent(redis, UPDATED, user.user_id)

    streams.validate(redis_keys.NOTIFICATION_INTENTS, intent)
    assert intent["producer"] == "user"


@pytest.mark.parametrize(("paths", "change", "field"), CHANGES)
async def test_intent_names_the_changed_field(
    gateway: GatewayClient, redis: aioredis.Redis, user: User, paths: list[str], change: pb.Account, field: str
) -> None:
    await gateway.update_my_account(user.token, change, paths)

    intent = await the_intent(redis, UPDATED, user.user_id)

    assert any(name == field or name.startswith(f"{field}.") for name in changed_fields(intent)), intent["params"]


async def test_update_that_changes_nothing_emits_no_intent(
    gateway: GatewayClient, redis: aioredis.Redis, user: User
) -> None:
    current = await gateway.get_my_account(user.token)
    await gateway.update_my_account(user.token, pb.Account(locale=current.locale), ["locale"])
    # A real change afterwards: once its intent is there, an intent for the no-op would be too.
    await gateway.update_my_account(user.token, pb.Account(display_name="Marker Change"), ["display_name"])

    intent = await the_intent(redis, UPDATED, user.user_id)

    assert "locale" not in changed_fields(intent)
