"""For every type and channel of the catalog: the output carries the recipient as User Service holds it."""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis

from galaxy_contracts import streams as contract_streams
from galaxy_contracts.http import UserClient
from galaxy_contracts.models import Account, AccountUpdate
from tests.boundaries.notificationuser.outputs import outputs, positions, wait_handled, write
from tests.harness import catalog

TYPES = catalog.types()
PUSH_TYPES = catalog.push_types()
EMAIL_TYPES = catalog.email_types()


@pytest.mark.parametrize("intent_type", TYPES)
async def test_every_channel_of_the_type_gets_one_schema_valid_entry(
    redis: aioredis.Redis, account: Account, intent_type: str
) -> None:
    after = await positions(redis)
    intent = catalog.intent(intent_type, account.user_id)
    await wait_handled(redis, await write(redis, intent))

    for channel in catalog.CHANNELS:
        found = await outputs(redis, channel, [intent["intent_id"]], after[channel])
        expected = 1 if channel in catalog.channels(intent_type) else 0
        assert len(found) == expected, f"{len(found)} {channel} entries for one {intent_type} intent"
        for entry in found:
            contract_streams.validate(catalog.OUTPUT_STREAM[channel], entry.fields)


@pytest.mark.parametrize("intent_type", PUSH_TYPES)
async def test_push_is_rendered_for_the_recipient_user_service_holds(
    redis: aioredis.Redis, users: UserClient, account: Account, intent_type: str
) -> None:
    after = await positions(redis)
    params = catalog.sample_params(intent_type)
    intent = catalog.intent(intent_type, account.user_id, params=params)
    await wait_handled(redis, await write(redis, intent))

    [push] = await outputs(redis, "push", [intent["intent_id"]], after["push"])
    held = await users.get(account.user_id)
    title, body = catalog.rendered_push(intent_type, params, catalog.recipient(held))
    assert (push.fields["title"], push.fields["body"]) == (title, body)
    assert (push.fields["user_id"], push.fields["type"]) == (account.user_id, intent_type)
    assert json.loads(push.fields["data"]) == params


@pytest.mark.parametrize("intent_type", EMAIL_TYPES)
async def test_mail_goes_to_the_address_and_locale_user_service_holds(
    redis: aioredis.Redis, users: UserClient, account: Account, intent_type: str
) -> None:
    after = await positions(redis)
    params = catalog.sample_params(intent_type)
    intent = catalog.intent(intent_type, account.user_id, params=params)
    await wait_handled(redis, await write(redis, intent))

    [mail] = await outputs(redis, "email", [intent["intent_id"]], after["email"])
    held = await users.get(account.user_id)
    spec = catalog.spec(intent_type).email
    assert spec is not None
    assert (mail.fields["to"], mail.fields["locale"], mail.fields["template"]) == (
        held.email,
        held.locale,
        spec.template,
    )
    assert json.loads(mail.fields["params"]) == params | {"recipient": catalog.recipient(held)}
    assert mail.fields["idempotency_key"].endswith(intent["intent_id"])


@pytest.mark.parametrize("intent_type", TYPES)
async def test_a_change_in_user_service_shows_in_the_next_notification(
    redis: aioredis.Redis, users: UserClient, account: Account, intent_type: str
) -> None:
    """No stale copy of the recipient: what User Service holds when the intent is handled is what is sent."""
    changed = await users.update(account.user_id, AccountUpdate(display_name="Renamed Recipient", locale="es"))
    after = await positions(redis)
    intent = catalog.intent(intent_type, account.user_id)
    await wait_handled(redis, await write(redis, intent))

    for channel in catalog.channels(intent_type):
        [entry] = await outputs(redis, channel, [intent["intent_id"]], after[channel])
        if channel == "email":
            assert json.loads(entry.fields["params"])["recipient"] == catalog.recipient(changed)
        else:
            params = json.loads(intent["params"])
            assert (entry.fields["title"], entry.fields["body"]) == catalog.rendered_push(
                intent_type, params, catalog.recipient(changed)
            )
