"""Every catalog type and channel: an intent becomes exactly the entries the catalog says, valid per schema."""

from __future__ import annotations

import json
from collections.abc import Callable

import fakeredis
import jinja2
import pytest
from jinja2.sandbox import SandboxedEnvironment

from galaxy.notification.adapters.outbox import RedisOutbox, delivered_key
from galaxy.notification.domain.model import Notification, Outcome, Received
from galaxy.notification.main import Resources
from galaxy.notification.settings import Settings
from galaxy.notification.transport.stream import Consumer
from galaxy_contracts import redis_keys, streams
from tests.unit.notification.helpers import (
    CATALOG,
    EMAIL_TYPES,
    IGNORING,
    PUSH_TYPES,
    RESPECTING,
    TYPES,
    UserDouble,
    has,
    intent,
    mails,
    params_for,
    pending,
    pushes,
    sample,
    write,
)


@pytest.mark.parametrize("intent_type", TYPES)
async def test_an_intent_writes_exactly_the_channels_of_its_type(
    intent_type: str, consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    user_id = users.add()
    await write(redis, intent(intent_type, user_id))

    [handled] = await consumer.step()

    assert handled.outcome is Outcome.DELIVERED
    assert len(await pushes(redis)) == has(intent_type, "push")
    assert len(await mails(redis)) == has(intent_type, "email")
    assert await pending(redis) == []


@pytest.mark.parametrize("intent_type", PUSH_TYPES)
async def test_push_entry_is_the_catalog_template_rendered_for_the_recipient(
    intent_type: str, consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    user_id = users.add(display_name="Ada L.")
    fields = intent(intent_type, user_id)
    await write(redis, fields)

    await consumer.step()

    [push] = await pushes(redis)
    streams.validate(redis_keys.GATEWAY_PUSH, push)
    spec = CATALOG.types[intent_type].push
    assert spec is not None
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    context = {"params": params_for(intent_type), "recipient": {**_recipient(users, user_id)}}
    assert push["title"] == env.from_string(spec.title).render(context)
    assert push["body"] == env.from_string(spec.body).render(context)
    assert (push["intent_id"], push["type"], push["user_id"]) == (fields["intent_id"], intent_type, user_id)
    assert json.loads(push["data"]) == params_for(intent_type)


@pytest.mark.parametrize("intent_type", EMAIL_TYPES)
async def test_mail_entry_is_template_mode_for_the_recipients_address_and_locale(
    intent_type: str, consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    user_id = users.add(locale="fr")
    fields = intent(intent_type, user_id)
    await write(redis, fields)

    await consumer.step()

    [mail] = await mails(redis)
    streams.validate(redis_keys.MAIL_DELIVERIES, mail)
    email = CATALOG.types[intent_type].email
    assert email is not None
    assert mail["template"] == email.template
    assert (mail["to"], mail["locale"], mail["intent_id"]) == (
        users.accounts[user_id]["email"],
        "fr",
        fields["intent_id"],
    )
    assert mail["idempotency_key"] == f"notification:{fields['intent_id']}"
    assert json.loads(mail["params"]) == params_for(intent_type) | {"recipient": _recipient(users, user_id)}


@pytest.mark.parametrize(("intent_type", "channel"), RESPECTING)
async def test_a_channel_the_user_opted_out_of_is_skipped_and_counted(
    intent_type: str, channel: str, consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    user_id = users.opted_out(channel)
    before = sample("galaxy_notification_skipped_by_preference_total", channel=channel)
    await write(redis, intent(intent_type, user_id))

    [handled] = await consumer.step()

    assert handled.outcome is Outcome.DELIVERED
    assert len(await pushes(redis)) == (has(intent_type, "push") and channel != "push")
    assert len(await mails(redis)) == (has(intent_type, "email") and channel != "email")
    assert sample("galaxy_notification_skipped_by_preference_total", channel=channel) == before + 1
    assert await pending(redis) == []


@pytest.mark.parametrize(("intent_type", "channel"), IGNORING)
async def test_types_that_ignore_preferences_reach_users_who_opted_out(
    intent_type: str, channel: str, consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    user_id = users.add(notification_preferences={"email_enabled": False, "push_enabled": False})
    await write(redis, intent(intent_type, user_id))

    await consumer.step()

    written = await pushes(redis) if channel == "push" else await mails(redis)
    assert len(written) == 1


@pytest.mark.parametrize("intent_type", TYPES)
async def test_an_intent_id_written_twice_is_delivered_once(
    intent_type: str, consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    fields = intent(intent_type, users.add())
    await write(redis, fields)
    await write(redis, fields)

    handled = await consumer.step()

    assert sorted(h.outcome for h in handled) == sorted([Outcome.DELIVERED, Outcome.DUPLICATE])
    assert len(await pushes(redis)) == has(intent_type, "push")
    assert len(await mails(redis)) == has(intent_type, "email")
    assert await pending(redis) == []


async def test_a_duplicate_arriving_later_is_acknowledged_without_asking_user_service(
    consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    user_id = users.add()
    fields = intent("account.welcome", user_id)
    await write(redis, fields)
    await consumer.step()
    users.down = True

    await write(redis, fields)
    [handled] = await consumer.step()

    assert handled.outcome is Outcome.DUPLICATE
    assert (len(await pushes(redis)), len(await mails(redis))) == (1, 1)
    assert users.calls_for(user_id) == 1
    assert await pending(redis) == []


async def test_the_dedupe_marker_outlives_redelivery(
    consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble, settings: Settings
) -> None:
    fields = intent("account.welcome", users.add())
    entry_id = await write(redis, fields)

    await consumer.step()

    assert await redis.get(delivered_key(fields["intent_id"])) == entry_id
    ttl = await redis.ttl(delivered_key(fields["intent_id"]))
    assert settings.max_deliveries * settings.reclaim_min_idle_ms / 1000 < ttl <= settings.dedupe_ttl_seconds


async def test_a_consumer_that_lost_its_entry_to_a_reclaim_writes_nothing(
    make_consumer: Callable[..., Consumer], redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    """A slow consumer's entry is reclaimed and delivered by another; the slow one then finishes: one push."""
    slow, other = make_consumer(consumer_name="slow"), make_consumer(consumer_name="other")
    await write(redis, intent("account.welcome", users.add()))
    users.down = True
    [first] = await slow.step()
    assert first.outcome is Outcome.RETRY
    users.down = False
    [by_other] = await other.step()
    assert by_other.outcome is Outcome.DELIVERED

    [late] = await slow._handle([_stale_copy(await redis.xrange(redis_keys.NOTIFICATION_INTENTS))])

    assert late.outcome in {Outcome.DUPLICATE, Outcome.LOST_RACE}
    assert (len(await pushes(redis)), len(await mails(redis))) == (1, 1)


async def test_the_outbox_writes_nothing_for_an_entry_no_longer_pending(
    resources: Resources, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    """The race inside the script: the dedupe marker is not set yet, but another consumer acknowledged."""
    outbox = RedisOutbox(redis, dedupe_ttl_seconds=60)
    await redis.xgroup_create(redis_keys.NOTIFICATION_INTENTS, redis_keys.NOTIFICATION_GROUP, id="0", mkstream=True)
    fields = intent("account.welcome", users.add())
    entry_id = await write(redis, fields)
    push = {"intent_id": fields["intent_id"]}

    outcome = await outbox.deliver(Received(entry_id, fields), Notification(fields["intent_id"], push=push))

    assert outcome is Outcome.LOST_RACE
    assert await pushes(redis) == []
    assert await redis.exists(delivered_key(fields["intent_id"])) == 0


async def test_push_title_and_body_are_cut_to_what_the_schema_allows(
    consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    user_id = users.add()
    long_name = "N" * 5000
    await write(redis, intent("social.friend_request", user_id, params=json.dumps({"from_display_name": long_name})))

    await consumer.step()

    [push] = await pushes(redis)
    streams.validate(redis_keys.GATEWAY_PUSH, push)
    assert push["body"].endswith("…")


async def test_writes_fail_whole_when_an_output_key_is_not_a_stream(
    consumer: Consumer, redis: fakeredis.FakeAsyncRedis, users: UserDouble
) -> None:
    """Redis does not roll a script back: nothing is written unless everything can be."""
    await redis.set(redis_keys.MAIL_DELIVERIES, "not a stream")
    fields = intent("account.welcome", users.add())
    await write(redis, fields)

    [handled] = await consumer.step()

    assert handled.outcome is Outcome.ERROR
    assert await pushes(redis) == []
    assert len(await pending(redis)) == 1
    assert await redis.exists(delivered_key(fields["intent_id"])) == 0


def _recipient(users: UserDouble, user_id: str) -> dict[str, str]:
    body = users.accounts[user_id]
    return {"display_name": body["display_name"], "email": body["email"], "locale": body["locale"]}


def _stale_copy(entries: list[tuple[str, dict[str, str]]]) -> Received:
    [(entry_id, fields)] = entries
    return Received(entry_id, fields, 1)
