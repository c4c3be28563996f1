"""SMTP failures of the auth-code mail: 4xx retried on Mail's schedule and delivered later; 5xx dead-lettered,
never retried. (An ended lifetime is proven in gatewayauthsessionusermail, whose lifetime is short: this
boundary's is long enough for 1,000 queued deliveries to drain across a restart.)

Each fault is planted at the sink for the test's own recipient only, so the
tests run alongside the others; the ``faults`` fixture removes them afterwards.
"""

from __future__ import annotations

import itertools
import json

import pytest
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys, streams
from galaxy_contracts.http import AuthSessionClient, MailClient, OperatorClient
from galaxy_contracts.models import Delivery, DeliveryAttempt
from tests.boundaries.authsessionmail.flows import (
    CLOCK_SLACK_SECONDS,
    RETRY_SLACK_SECONDS,
    MailSettings,
    SinkFaults,
    final,
    the_delivery,
)
from tests.harness import redis as lab_redis
from tests.harness.mail_load import DUE
from tests.harness.sink import Attempt, SmtpSink

REFUSALS = 2
TRANSIENT = 451
PERMANENT = 550
SETTLE_SECONDS = 20.0


async def refused_then_delivered(
    authsession: AuthSessionClient,
    sink: SmtpSink,
    faults: SinkFaults,
    mail: MailClient,
    operator: OperatorClient,
    email: str,
    mail_settings: MailSettings,
) -> tuple[Delivery, list[Attempt]]:
    await faults.add(code=TRANSIENT, recipient=email, times=REFUSALS)
    await authsession.start_challenge(email)
    delivery = await the_delivery(operator, email)
    within = sum(mail_settings.delay_before(n) for n in range(2, REFUSALS + 2)) + SETTLE_SECONDS
    ended = await final(mail, delivery.delivery_id, within=within)
    return ended, [a for a in await sink.attempts() if email in a.rcpt_tos]


def refusals_in(history: list[DeliveryAttempt]) -> list[DeliveryAttempt]:
    """The attempts the sink refused with the planted 4xx. On a loaded host Mail may also record a transient
    failure the sink never saw a recipient for (an SMTP timeout, a dropped connection): it is retried like a
    refusal, so it is allowed beside them, never instead of them (the sink's own record is exact)."""
    return [a for a in history if a.outcome == "transient_failure" and str(TRANSIENT) in (a.detail or "")]


async def dead_letter(redis: aioredis.Redis, delivery_id: str) -> dict[str, str]:
    entry = await lab_redis.only_entry(redis, redis_keys.MAIL_DELIVERIES_DEAD, within=5.0, source_id=delivery_id)
    return entry.fields


# --- 4xx: retried on schedule, then delivered -----------------------------------------------------------


async def test_transient_refusals_are_retried_until_the_mail_is_sent(
    authsession: AuthSessionClient,
    sink: SmtpSink,
    faults: SinkFaults,
    mail: MailClient,
    operator: OperatorClient,
    email: str,
    mail_settings: MailSettings,
) -> None:
    ended, attempts = await refused_then_delivered(authsession, sink, faults, mail, operator, email, mail_settings)

    assert [a.outcome for a in attempts] == ["refused"] * REFUSALS + ["accepted"]
    history = (await operator.delivery(ended.delivery_id)).history
    assert ended.status == "sent"
    assert ended.attempts == len(history), [a.outcome for a in history]
    assert len(refusals_in(history)) == REFUSALS, [a.detail for a in history]


async def test_retries_follow_the_configured_schedule(
    authsession: AuthSessionClient,
    sink: SmtpSink,
    faults: SinkFaults,
    mail: MailClient,
    operator: OperatorClient,
    email: str,
    mail_settings: MailSettings,
) -> None:
    _, attempts = await refused_then_delivered(authsession, sink, faults, mail, operator, email, mail_settings)

    gaps = [(later.time - earlier.time).total_seconds() for earlier, later in itertools.pairwise(attempts)]
    expected = [mail_settings.delay_before(n) for n in range(2, len(attempts) + 1)]
    for gap, delay in zip(gaps, expected, strict=True):
        assert delay - CLOCK_SLACK_SECONDS <= gap <= delay + RETRY_SLACK_SECONDS, f"gaps {gaps}, schedule {expected}"


async def test_delivered_mail_is_one_message_after_the_refusals(
    authsession: AuthSessionClient,
    sink: SmtpSink,
    faults: SinkFaults,
    mail: MailClient,
    operator: OperatorClient,
    email: str,
    mail_settings: MailSettings,
) -> None:
    ended, _ = await refused_then_delivered(authsession, sink, faults, mail, operator, email, mail_settings)

    received = await sink.messages(to=email)
    assert [m.message_id for m in received] == [(await operator.delivery(ended.delivery_id)).message_id]


async def test_history_records_each_refusal_then_the_send(
    authsession: AuthSessionClient,
    sink: SmtpSink,
    faults: SinkFaults,
    mail: MailClient,
    operator: OperatorClient,
    email: str,
    mail_settings: MailSettings,
) -> None:
    ended, _ = await refused_then_delivered(authsession, sink, faults, mail, operator, email, mail_settings)

    history = (await operator.delivery(ended.delivery_id)).history
    assert [a.outcome for a in history] == ["transient_failure"] * (len(history) - 1) + ["sent"]
    assert len(refusals_in(history)) == REFUSALS, [a.detail for a in history]


# --- 5xx: failed at once, dead-lettered, no retry --------------------------------------------------------


@pytest.fixture
async def refused_for_good(
    authsession: AuthSessionClient,
    faults: SinkFaults,
    mail: MailClient,
    operator: OperatorClient,
    email: str,
) -> Delivery:
    """The auth-code mail of ``email`` after the sink answered it 550 (for every attempt, were there more)."""
    await faults.add(code=PERMANENT, recipient=email, times=None)
    await authsession.start_challenge(email)
    delivery = await the_delivery(operator, email)
    return await final(mail, delivery.delivery_id, within=SETTLE_SECONDS)


async def test_permanent_refusal_fails_the_delivery(refused_for_good: Delivery) -> None:
    assert refused_for_good.status == "failed"
    assert refused_for_good.next_attempt_at is None
    assert str(PERMANENT) in (refused_for_good.last_error or ""), refused_for_good.last_error


async def test_permanent_refusal_is_tried_once(
    refused_for_good: Delivery, sink: SmtpSink, operator: OperatorClient, redis: aioredis.Redis, email: str
) -> None:
    history = (await operator.delivery(refused_for_good.delivery_id)).history

    assert [a.outcome for a in history] == ["permanent_failure"]
    assert [a.outcome for a in await sink.attempts() if email in a.rcpt_tos] == ["refused"]
    assert await redis.zscore(DUE, refused_for_good.delivery_id) is None, "a retry is scheduled"


async def test_permanent_refusal_is_dead_lettered(refused_for_good: Delivery, redis: aioredis.Redis) -> None:
    letter = await dead_letter(redis, refused_for_good.delivery_id)

    streams.validate(redis_keys.MAIL_DELIVERIES_DEAD, letter)
    assert (letter["source_stream"], letter["reason"]) == (redis_keys.MAIL_DELIVERIES, "smtp_permanent")
    assert json.loads(letter["entry"])["template"] == "auth.login_code"


async def test_permanently_refused_code_never_reaches_the_mailbox(
    refused_for_good: Delivery, sink: SmtpSink, email: str
) -> None:
    assert await sink.messages(to=email) == []
