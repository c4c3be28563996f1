"""A duplicated intent sends one mail; a user who opted out of e-mail gets none of the types that respect
preferences (and still gets the others).

Absence is proven without waiting it out: Notification Service handles one
user's intents in stream order, so once a marker intent written after them has
become a mail, they have been handled; once every delivery to the address has
ended at Mail, the sink holds all the mail there will be.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys
from galaxy_contracts import streams as contract_streams
from galaxy_contracts.http import OperatorClient
from galaxy_contracts.models import Account
from galaxy_contracts.streams import RESERVED_PARAM
from tests.boundaries.notificationmail.flows import (
    Recipients,
    always_mailed,
    email_types,
    respects_preferences,
    template_of,
)
from tests.harness import catalog, intent_producer, streams
from tests.harness.sink import SmtpSink
from tests.harness.waits import eventually_async

FINAL = {"sent", "failed"}
SETTLE = 20.0


async def settled(operator: OperatorClient, account: Account) -> None:
    """Every delivery to the account has ended (so nothing more is on its way to the sink)."""

    async def ended() -> None:
        open_ones = [d.status for d in await operator.deliveries(to=account.email) if d.status not in FINAL]
        assert open_ones == [], open_ones

    await eventually_async(ended, within=SETTLE, what=f"deliveries to {account.email} ended", interval=0.2)


async def sent(operator: OperatorClient, account: Account, intent_id: str) -> None:
    """The intent's mail is at the sink (Mail says sent only after the SMTP server's 250)."""

    async def done() -> None:
        statuses = [d.status for d in await operator.deliveries(to=account.email) if d.intent_id == intent_id]
        assert statuses == ["sent"], statuses

    await eventually_async(done, within=SETTLE, what=f"the mail of {intent_id} sent", interval=0.2)


async def mail_after_marker(
    sink: SmtpSink,
    operator: OperatorClient,
    redis: aioredis.Redis,
    account: Account,
    mark: int,
    *entries: dict[str, str],
) -> int:
    """Write ``entries`` then a marker intent for the same user; once the marker's mail is in and every
    delivery ended: how many mails the account got after ``mark``, the marker's included."""
    marker = intent_producer.intent(always_mailed(), account.user_id)
    await intent_producer.write(redis, *entries, marker)
    await sent(operator, account, marker["intent_id"])
    await settled(operator, account)
    return len(await sink.messages(to=account.email, after=mark))


@pytest.mark.parametrize("intent_type", email_types())
async def test_duplicated_intent_sends_one_mail(
    intent_type: str, recipients: Recipients, sink: SmtpSink, redis: aioredis.Redis, operator: OperatorClient
) -> None:
    account = await recipients.seed()
    mark = await sink.mark()
    intent = intent_producer.intent(intent_type, account.user_id)

    received = await mail_after_marker(sink, operator, redis, account, mark, intent, intent)

    assert received == 2, "the intent (written twice) and the marker"
    deliveries = await operator.deliveries(to=account.email, template=template_of(intent_type))
    mine = [d for d in deliveries if d.intent_id == intent["intent_id"]]
    assert [d.status for d in mine] == ["sent"]
    copies = await sink.messages(to=account.email, after=mark, headers={"Message-ID": mine[0].message_id or ""})
    assert len(copies) == 1


@pytest.mark.parametrize("intent_type", email_types())
async def test_opted_out_user_gets_mail_only_where_preferences_do_not_apply(
    intent_type: str, recipients: Recipients, sink: SmtpSink, redis: aioredis.Redis, operator: OperatorClient
) -> None:
    account = await recipients.seed(email_enabled=False)
    mark = await sink.mark()
    intent = intent_producer.intent(intent_type, account.user_id)

    received = await mail_after_marker(sink, operator, redis, account, mark, intent)

    expected = 0 if respects_preferences(intent_type) else 1
    mailed = [d for d in await operator.deliveries(to=account.email) if d.intent_id == intent["intent_id"]]
    assert (len(mailed), received) == (expected, expected + 1), [d.status for d in mailed]


async def test_mail_entry_written_twice_sends_one_mail(
    recipients: Recipients, sink: SmtpSink, redis: aioredis.Redis, operator: OperatorClient
) -> None:
    """Mail's own guard on its stream, behind Notification's: two ``mail:deliveries`` entries with one
    ``idempotency_key`` (a producer that wrote its entry again) are one delivery and one mail."""
    account = await recipients.seed()
    intent_type = always_mailed()
    intent_id = f"i_{uuid.uuid4().hex}"
    params = {**catalog.sample_params(intent_type), RESERVED_PARAM: catalog.recipient(account)}
    entry = {
        "idempotency_key": f"lab-{intent_id}",
        "intent_id": intent_id,
        "to": account.email,
        "template": template_of(intent_type),
        "locale": account.locale,
        "params": json.dumps(params),
        "created_at": datetime.now(UTC).isoformat(),
    }
    contract_streams.validate(redis_keys.MAIL_DELIVERIES, entry)
    mark = await sink.mark()

    await streams.add_all(redis, redis_keys.MAIL_DELIVERIES, [entry, entry])
    await sent(operator, account, intent_id)
    await settled(operator, account)

    assert len(await sink.messages(to=account.email, after=mark)) == 1
