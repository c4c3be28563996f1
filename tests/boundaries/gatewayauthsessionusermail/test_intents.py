"""The regression the lab exists for: the auth-code mail bypasses ``notification:intents``, read on the stream itself;
the ``account.welcome`` intent of the new account is written there, schema-valid, once.

Other tests register in parallel, so the stream is read from the position taken
before this registration started, and entries are told apart by the address,
the user id and the code.
"""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from galaxy_contracts import redis_keys, streams
from galaxy_contracts.gateway import GatewayClient
from galaxy_contracts.http import OperatorClient
from tests.boundaries.gatewayauthsessionusermail.flows import Registration, mentions
from tests.harness import redis as lab_redis
from tests.harness.intents import WELCOME, the_intent
from tests.harness.login import log_in
from tests.harness.login_codes import TEMPLATE
from tests.harness.mailed_codes import TEMPLATE_HEADER, SinkCodes
from tests.harness.sink import SmtpSink

INTENTS = redis_keys.NOTIFICATION_INTENTS


async def test_no_intent_carries_the_login_code_or_the_address(
    registration: Registration, redis: aioredis.Redis
) -> None:
    await the_intent(redis, WELCOME, registration.user_id)  # the registration's intents are written by now
    after = await lab_redis.entries_after(redis, INTENTS, registration.intents_before)

    leaking = [e.id for e in after if mentions(e, registration.email, registration.started.code)]
    assert leaking == [], f"intents on {INTENTS} carry the login code or the address: {leaking}"


async def test_the_only_intent_for_the_new_account_is_the_welcome(
    registration: Registration, redis: aioredis.Redis
) -> None:
    await the_intent(redis, WELCOME, registration.user_id)
    after = await lab_redis.entries_after(redis, INTENTS, registration.intents_before)

    assert [e.fields["type"] for e in after if e.fields.get("user_id") == registration.user_id] == [WELCOME]


async def test_no_intent_of_a_login_code_type_is_written(registration: Registration, redis: aioredis.Redis) -> None:
    await the_intent(redis, WELCOME, registration.user_id)
    after = await lab_redis.entries_after(redis, INTENTS, registration.intents_before)

    assert [e.id for e in after if e.fields.get("type", "").startswith("auth.")] == []


async def test_login_code_mail_was_a_direct_send(registration: Registration, operator: OperatorClient) -> None:
    (delivery,) = await operator.deliveries(to=registration.email, template=TEMPLATE)

    assert (delivery.source, delivery.intent_id) == ("http", None)


async def test_no_template_mode_mail_request_for_the_address(registration: Registration, redis: aioredis.Redis) -> None:
    after = await lab_redis.entries_after(redis, redis_keys.MAIL_DELIVERIES, registration.mail_before)

    assert [e.id for e in after if mentions(e, registration.email)] == []


async def test_welcome_intent_is_written_once_and_schema_valid(
    registration: Registration, redis: aioredis.Redis
) -> None:
    intent = await the_intent(redis, WELCOME, registration.user_id)

    streams.validate(INTENTS, intent)
    assert intent["producer"] == "authsession"
    assert intent["type"] in streams.typed_catalog().types
    assert isinstance(json.loads(intent["params"]), dict)


async def test_welcome_intent_waits_on_the_stream_and_sends_no_mail_by_itself(
    registration: Registration, redis: aioredis.Redis, sink: SmtpSink
) -> None:
    await the_intent(redis, WELCOME, registration.user_id)

    # No Notification Service here: the only mail to the new address is the code.
    every = await sink.messages(to=registration.email)
    codes = await sink.messages(to=registration.email, headers={TEMPLATE_HEADER: TEMPLATE})
    assert (len(every), [m.id for m in every]) == (1, [m.id for m in codes])


async def test_second_login_writes_no_intent_for_the_account(
    gateway: GatewayClient, mailed: SinkCodes, registration: Registration, redis: aioredis.Redis
) -> None:
    await the_intent(redis, WELCOME, registration.user_id)
    position = await lab_redis.last_id(redis, INTENTS)

    again = await log_in(gateway, mailed, registration.email)

    after = await lab_redis.entries_after(redis, INTENTS, position)
    assert [e.id for e in after if e.fields.get("user_id") == again.user_id] == []
