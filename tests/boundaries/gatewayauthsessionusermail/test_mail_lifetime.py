"""An auth-code mail the SMTP sink refuses with 4xx for good: Mail retries it on its schedule for the whole
delivery lifetime, then fails it as ``retries_exhausted`` and dead-letters it; nothing reaches the mailbox.

The test waits out a whole lifetime, so it runs here, where the boundary's lifetime is short
(playbooks/vars/boundaries.yml), and not in authsessionmail, whose long lifetime lets 1,000 queued deliveries
drain across a restart. It reads the lifetime and the schedule from the manifest. The fault is planted at the
sink for the test's own recipient only, so the test runs alongside the others.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys, streams
from galaxy_contracts.gateway import GatewayClient
from galaxy_contracts.http import MailClient, OperatorClient
from galaxy_contracts.models import Delivery, RenderedDelivery
from tests.harness import redis as lab_redis
from tests.harness.fixtures import Clients
from tests.harness.login_codes import TEMPLATE
from tests.harness.manifest import Manifest
from tests.harness.sink import SinkError, SmtpSink
from tests.harness.waits import eventually_async

MAIL = "mail"
TRANSIENT = 451
FINAL = frozenset({"sent", "recorded", "failed"})
# The test waits a whole lifetime: a longer one belongs to a boundary whose tests need it, not here.
LONGEST_LIFETIME_TO_WAIT = 30.0
# Past the lifetime: the last retry may come late on a busy host (Mail's poll interval), then it is recorded.
SETTLE_SECONDS = 20.0
# The sink stamps an attempt a moment before Mail stamps it (and computes the retry from that).
CLOCK_SLACK_SECONDS = 0.2


def lifetime_of(manifest: Manifest) -> float:
    value = manifest.setting(MAIL, "DELIVERY_LIFETIME_SECONDS")
    assert value, f"{manifest.boundary}: mail has no DELIVERY_LIFETIME_SECONDS in the manifest"
    return float(value)


def schedule_of(manifest: Manifest) -> tuple[float, ...]:
    value = manifest.setting(MAIL, "RETRY_SCHEDULE_SECONDS")
    assert value, f"{manifest.boundary}: mail has no RETRY_SCHEDULE_SECONDS in the manifest"
    return tuple(float(s) for s in value.split(",") if s.strip())


@pytest.fixture
async def mail(clients: Clients) -> MailClient:
    client: MailClient = await clients("mail")
    return client


@pytest.fixture
async def refusing(sink: SmtpSink, email: str) -> AsyncIterator[None]:
    """The sink answers every message to ``email`` with 451 until the test ends."""
    fault = await sink.fault(code=TRANSIENT, recipient=email, times=None)
    yield
    with contextlib.suppress(SinkError):
        await sink.remove_fault(fault.id)


async def the_delivery(operator: OperatorClient, email: str) -> RenderedDelivery:
    async def one() -> RenderedDelivery:
        found = await operator.deliveries(to=email, template=TEMPLATE)
        assert len(found) == 1, f"{len(found)} {TEMPLATE} deliveries to {email}"
        return found[0]

    return await eventually_async(one, within=10.0, what=f"the {TEMPLATE} delivery to {email}")


@pytest.fixture
async def expired(
    refusing: None, gateway: GatewayClient, mail: MailClient, operator: OperatorClient, email: str, manifest: Manifest
) -> Delivery:
    """The auth-code mail of ``email`` once it has ended, the sink having refused every attempt with 451."""
    lifetime = lifetime_of(manifest)
    if lifetime > LONGEST_LIFETIME_TO_WAIT:
        pytest.fail(
            f"the lab's mail DELIVERY_LIFETIME_SECONDS for this boundary is {lifetime:g}s; the lifetime test needs "
            f"at most {LONGEST_LIFETIME_TO_WAIT:g}s: set it for the boundary in playbooks/vars/boundaries.yml",
            pytrace=False,
        )
    await gateway.start_login(email)
    delivery = await the_delivery(operator, email)

    async def ended() -> Delivery:
        found = await mail.get(delivery.delivery_id)
        assert found.status in FINAL, f"{found.delivery_id} is {found.status} after {found.attempts} attempts"
        return found

    return await eventually_async(
        ended, within=lifetime + SETTLE_SECONDS, what=f"delivery {delivery.delivery_id} ended", interval=0.2
    )


async def test_delivery_is_retried_throughout_its_lifetime_then_fails_as_retries_exhausted(
    expired: Delivery,
    operator: OperatorClient,
    redis: aioredis.Redis,
    sink: SmtpSink,
    email: str,
    manifest: Manifest,
) -> None:
    lifetime, schedule = lifetime_of(manifest), schedule_of(manifest)
    history = (await operator.delivery(expired.delivery_id)).history
    lived = (history[-1].at - expired.created_at).total_seconds()

    # It gives up only when the next retry would fall after the lifetime's end.
    assert lived >= lifetime - max(schedule) - CLOCK_SLACK_SECONDS, lived
    assert len(history) > len(schedule), [a.outcome for a in history]
    tried = [a for a in await sink.attempts() if email in a.rcpt_tos]
    assert {a.outcome for a in tried} == {"refused"}
    assert await sink.messages(to=email) == []

    assert expired.status == "failed"
    entry = await lab_redis.only_entry(
        redis, redis_keys.MAIL_DELIVERIES_DEAD, within=5.0, source_id=expired.delivery_id
    )
    streams.validate(redis_keys.MAIL_DELIVERIES_DEAD, entry.fields)
    assert entry.fields["reason"] == "retries_exhausted"
