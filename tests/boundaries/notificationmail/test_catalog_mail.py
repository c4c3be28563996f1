"""For every e-mail type of the catalog: an intent ends as a mail rendered for its recipient at the SMTP sink.

Parametrized over contracts/streams/catalog.yaml (galaxy_contracts.streams): a
new e-mail type is covered without editing this file.
"""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from galaxy_contracts.http import OperatorClient
from galaxy_contracts.models import Locale
from tests.boundaries.notificationmail.flows import Recipients, email_types, mail_of, template_of
from tests.harness import intent_producer
from tests.harness.sink import SmtpSink

LOCALES: list[Locale] = ["en", "de"]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("intent_type", email_types())
async def test_intent_ends_as_a_mail_greeting_the_recipient_by_name(
    intent_type: str, locale: Locale, recipients: Recipients, sink: SmtpSink, redis: aioredis.Redis
) -> None:
    account = await recipients.seed(locale=locale)
    mark = await sink.mark()

    await intent_producer.write(redis, intent_producer.intent(intent_type, account.user_id))

    mail = await mail_of(sink, account, intent_type, after=mark)
    assert account.display_name in (mail.text or ""), mail.text
    assert account.display_name in (mail.html or ""), mail.html
    assert (mail.subject or "").strip(), "no subject"
    assert "{{" not in (mail.subject or ""), mail.subject


@pytest.mark.parametrize("intent_type", email_types())
async def test_mail_is_rendered_in_the_recipients_locale(
    intent_type: str, recipients: Recipients, sink: SmtpSink, redis: aioredis.Redis, operator: OperatorClient
) -> None:
    english, german = await recipients.seed(locale="en"), await recipients.seed(locale="de")
    mark = await sink.mark()
    params = intent_producer.catalog_params(intent_type)

    await intent_producer.write(
        redis,
        intent_producer.intent(intent_type, english.user_id, params),
        intent_producer.intent(intent_type, german.user_id, params),
    )

    en_mail, de_mail = [await mail_of(sink, a, intent_type, after=mark) for a in (english, german)]
    assert en_mail.subject != de_mail.subject, "the same subject in en and de"
    (delivery,) = await operator.deliveries(to=german.email, template=template_of(intent_type))
    assert delivery.locale == "de"


@pytest.mark.parametrize("intent_type", email_types())
async def test_mail_is_the_intents_delivery_from_the_stream(
    intent_type: str, recipients: Recipients, sink: SmtpSink, redis: aioredis.Redis, operator: OperatorClient
) -> None:
    account = await recipients.seed()
    mark = await sink.mark()
    intent = intent_producer.intent(intent_type, account.user_id)

    await intent_producer.write(redis, intent)

    mail = await mail_of(sink, account, intent_type, after=mark)
    (delivery,) = await operator.deliveries(to=account.email)
    assert (delivery.source, delivery.intent_id, delivery.message_id) == (
        "stream",
        intent["intent_id"],
        mail.message_id,
    )
