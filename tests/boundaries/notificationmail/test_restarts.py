"""Nothing lost, nothing duplicated across a clean or ``kill -9`` restart of the durable Redis, or a ``kill -9`` of
Notification Service, in the middle of a stream of intents.

Each scenario seeds one recipient per intent (the catalog's e-mail types in
turn), writes every intent (every tenth twice), waits until mail has started
arriving, disrupts, and counts at the SMTP sink: every recipient gets exactly
one message. A second copy of the same message (same ``Message-ID``) is
tolerated only where SMTP itself cannot tell: Mail mid-send when Redis died,
after the sink's ``250`` and before Mail recorded it. The counts are reported
with the test (tests.harness.tally).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import redis.asyncio as aioredis

from galaxy_contracts.models import Account
from tests.boundaries.notificationmail.flows import Recipients, email_types
from tests.harness import intent_producer
from tests.harness.arrivals import Arrivals, arrivals, attempts_mark
from tests.harness.manifest import Manifest
from tests.harness.processes import REDIS, ProcessControl
from tests.harness.sink import SmtpSink
from tests.harness.tally import tell
from tests.harness.waits import eventually_async

INTENTS = 300
DUPLICATE_EVERY = 10
STARTED = 20
STARTED_WITHIN = 30.0
ARRIVAL_DEADLINE = 120.0
SEED_CONCURRENCY = 16
SERVICES = ("notification", "mail")
# galaxy.mail's default SEND_CONCURRENCY: at most this many sends are between the sink's 250 and Mail's record.
DEFAULT_SEND_CONCURRENCY = 4

Disruption = Callable[[ProcessControl], None]


def redis_clean(processes: ProcessControl) -> None:
    with processes.stopped(REDIS):
        pass


def redis_killed(processes: ProcessControl) -> None:
    with processes.killed(REDIS):
        pass


def notification_killed(processes: ProcessControl) -> None:
    with processes.killed("notification"):
        pass


DISRUPTIONS: dict[str, Disruption] = {
    "redis-clean": redis_clean,
    "redis-kill-9": redis_killed,
    "notification-kill-9": notification_killed,
}


async def seed(recipients: Recipients, count: int) -> list[Account]:
    slots = asyncio.Semaphore(SEED_CONCURRENCY)

    async def one() -> Account:
        async with slots:
            return await recipients.seed()

    return list(await asyncio.gather(*(one() for _ in range(count))))


@pytest.mark.disruptive
@pytest.mark.parametrize("disruption", list(DISRUPTIONS))
async def test_no_intent_lost_or_mailed_twice_across_a_disruption(
    disruption: str,
    recipients: Recipients,
    sink: SmtpSink,
    redis: aioredis.Redis,
    processes: ProcessControl,
    manifest_send_concurrency: int,
    request: pytest.FixtureRequest,
) -> None:
    accounts = await seed(recipients, INTENTS)
    types = email_types()
    entries = [intent_producer.intent(types[n % len(types)], a.user_id) for n, a in enumerate(accounts)]
    entries += entries[::DUPLICATE_EVERY]
    addresses = [a.email for a in accounts]
    mark = await attempts_mark(sink)

    await intent_producer.write(redis, *entries)

    async def started() -> Arrivals:
        seen = await arrivals(sink, addresses, after=mark)
        assert len(seen.arrived) >= STARTED, seen.summary()
        return seen

    at_disruption = await eventually_async(started, within=STARTED_WITHIN, what=f"{STARTED} mails arrived")
    DISRUPTIONS[disruption](processes)
    for service in SERVICES:
        processes.wait_ready(service)

    async def complete() -> Arrivals:
        seen = await arrivals(sink, addresses, after=mark)
        assert not seen.missing, seen.summary()
        return seen

    seen = await eventually_async(complete, within=ARRIVAL_DEADLINE, what="a mail for every intent", interval=1.0)

    tell(
        request,
        "intents",
        f"{len(entries)} written ({INTENTS} distinct); at the disruption: "
        f"{len(at_disruption.arrived)} mailed; after: {seen.summary()}",
    )
    assert len(at_disruption.arrived) < INTENTS, "everything was mailed before the disruption: it proves nothing"
    assert seen.several_messages == {}, "an intent became two different mails"
    allowed = 0 if disruption.startswith("notification") else manifest_send_concurrency
    assert seen.duplicates <= allowed, "more copies of a message than sends that can be in flight"


@pytest.fixture
def manifest_send_concurrency(manifest: Manifest) -> int:
    return int(manifest.setting("mail", "SEND_CONCURRENCY") or DEFAULT_SEND_CONCURRENCY)
