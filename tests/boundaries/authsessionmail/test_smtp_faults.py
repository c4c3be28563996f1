"""SMTP failures of the auth-code mail: 4xx retried on Mail's schedule and delivered later; 5xx dead-lettered,
never retried. (An ended lifetime is proven in gatewayauthsessionusermail, whose lifetime is short: this
boundary's is long enough for 1,000 queued deliveries to drain across a restart.)

Each fault is planted at the sink for the scenario's own recipient only, so it
runs alongside the others, and is removed afterwards. The 4xx tests share one
scenario (module-scoped: it waits out the retry schedule once).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys, streams
from galaxy_contracts.http import AuthSessionClient, MailClient, OperatorClient
from galaxy_contracts.models import Delivery, DeliveryAttempt
from tests.boundaries.authsessionmail.flows import (
    CLOCK_SLACK_SECONDS,
    MAIL,
    RETRY_SLACK_SECONDS,
    MailSettings,
    SinkFaults,
    final,
    sink_client,
    the_delivery,
)
from tests.harness import redis as lab_redis
from tests.harness.arrivals import attempts_mark
from tests.harness.clients import client_for
from tests.harness.fixtures import module_lab
from tests.harness.keys import unique_email
from tests.harness.locks import BoundaryLock
from tests.harness.mail_load import DUE
from tests.harness.mail_operator import operator_client
from tests.harness.manifest import state_dir
from tests.harness.sink import Attempt, SinkMessage, SmtpSink

REFUSALS = 2
TRANSIENT = 451
PERMANENT = 550
SETTLE_SECONDS = 20.0


@dataclass(frozen=True)
class RefusedThenDelivered:
    """One auth-code mail refused ``REFUSALS`` times with 4xx, then delivered: what the sink and Mail recorded."""

    ended: Delivery
    attempts: list[Attempt]  # the sink's, for this recipient
    history: list[DeliveryAttempt]  # Mail's operator surface
    message_id: str | None  # the Message-ID Mail's operator surface names
    received: list[SinkMessage]  # the messages the sink kept for this recipient


def refusals_in(history: list[DeliveryAttempt]) -> list[DeliveryAttempt]:
    """The attempts the sink refused with the planted 4xx. On a loaded host Mail may also record a transient
    failure the sink never saw a recipient for (an SMTP timeout, a dropped connection): it is retried like a
    refusal, so it is allowed beside them, never instead of them (the sink's own record is exact)."""
    return [a for a in history if a.outcome == "transient_failure" and str(TRANSIENT) in (a.detail or "")]


async def dead_letter(redis: aioredis.Redis, delivery_id: str) -> dict[str, str]:
    entry = await lab_redis.only_entry(redis, redis_keys.MAIL_DELIVERIES_DEAD, within=5.0, source_id=delivery_id)
    return entry.fields


# --- 4xx: retried on schedule, then delivered -----------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def refused(request: pytest.FixtureRequest) -> RefusedThenDelivered:
    """The module's one scenario (it waits out the retry schedule): the tests below each check one concern of
    it. Held under the boundary's shared lock, as an ordinary test."""
    manifest, secrets = module_lab(request)
    settings, email = MailSettings.of(manifest), unique_email("refused-then-delivered")
    with BoundaryLock(state_dir() / "locks", manifest.boundary).shared():
        async with (
            client_for(manifest.component("authsession"), secrets) as authsession,
            client_for(manifest.component(MAIL), secrets) as mail,
            operator_client(manifest) as operator,
            sink_client(manifest, secrets) as sink,
        ):
            faults = SinkFaults(sink)
            try:
                mark = await attempts_mark(sink)
                await faults.add(code=TRANSIENT, recipient=email, times=REFUSALS)
                await authsession.start_challenge(email)
                delivery = await the_delivery(operator, email)
                within = sum(settings.delay_before(n) for n in range(2, REFUSALS + 2)) + SETTLE_SECONDS
                ended = await final(mail, delivery.delivery_id, within=within)
                seen = await operator.delivery(ended.delivery_id)
                return RefusedThenDelivered(
                    ended,
                    [a for a in await sink.attempts(after=mark) if email in a.rcpt_tos],
                    seen.history,
                    seen.message_id,
                    await sink.messages(to=email),
                )
            finally:
                await faults.remove_all()


def test_transient_refusals_are_retried_until_the_mail_is_sent(refused: RefusedThenDelivered) -> None:
    assert [a.outcome for a in refused.attempts] == ["refused"] * REFUSALS + ["accepted"]
    assert refused.ended.status == "sent"
    assert refused.ended.attempts == len(refused.history), [a.outcome for a in refused.history]
    assert len(refusals_in(refused.history)) == REFUSALS, [a.detail for a in refused.history]


def test_retries_follow_the_configured_schedule(refused: RefusedThenDelivered, mail_settings: MailSettings) -> None:
    attempts = refused.attempts
    gaps = [(later.time - earlier.time).total_seconds() for earlier, later in itertools.pairwise(attempts)]
    expected = [mail_settings.delay_before(n) for n in range(2, len(attempts) + 1)]
    for gap, delay in zip(gaps, expected, strict=True):
        assert delay - CLOCK_SLACK_SECONDS <= gap <= delay + RETRY_SLACK_SECONDS, f"gaps {gaps}, schedule {expected}"


def test_delivered_mail_is_one_message_after_the_refusals(refused: RefusedThenDelivered) -> None:
    assert [m.message_id for m in refused.received] == [refused.message_id]


def test_history_records_each_refusal_then_the_send(refused: RefusedThenDelivered) -> None:
    history = refused.history
    assert [a.outcome for a in history] == ["transient_failure"] * (len(history) - 1) + ["sent"]
    assert len(refusals_in(history)) == REFUSALS, [a.detail for a in history]


# --- 5xx: failed at once, dead-lettered, no retry --------------------------------------------------------


@pytest.fixture
async def attempts_before(sink: SmtpSink) -> int:
    """The sink's attempts log position before the test acts (the log holds the bulk scenarios' thousands)."""
    return await attempts_mark(sink)


@pytest.fixture
async def refused_for_good(
    authsession: AuthSessionClient,
    faults: SinkFaults,
    mail: MailClient,
    operator: OperatorClient,
    email: str,
    attempts_before: int,
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
    refused_for_good: Delivery,
    sink: SmtpSink,
    operator: OperatorClient,
    redis: aioredis.Redis,
    email: str,
    attempts_before: int,
) -> None:
    history = (await operator.delivery(refused_for_good.delivery_id)).history

    assert [a.outcome for a in history] == ["permanent_failure"]
    tried = await sink.attempts(after=attempts_before)
    assert [a.outcome for a in tried if email in a.rcpt_tos] == ["refused"]
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
