"""No queued delivery lost or sent twice across a restart of the durable Redis (clean and ``kill -9``) or a
``kill -9`` of Mail Service mid-send, with 1,000 deliveries accepted and queued and retries scheduled.

Each scenario: the sink refuses every message with 451 while 1,000 auth-code
deliveries are posted to Mail as the lab (each with its idempotency key), so all
are queued or waiting for a retry in Redis; then the disruption; then the sink
accepts again and every delivery must arrive exactly once. A second copy is
tolerated only where SMTP itself cannot tell (Mail killed after the sink's
``250``, before it recorded the send), and then carries the same ``Message-ID``.
The counts are reported with the test (tests.harness.tally).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from galaxy_contracts.http import MailClient
from tests.boundaries.authsessionmail.bulk import DELIVERIES, all_arrived, queue_behind_refusals
from tests.boundaries.authsessionmail.flows import SinkFaults
from tests.harness.mail_load import depths
from tests.harness.manifest import Manifest
from tests.harness.processes import REDIS, ProcessControl
from tests.harness.sink import SmtpSink
from tests.harness.tally import tell
from tests.harness.waits import eventually_async, until_async

MAIL = "mail"
# Sent before the kill, so the kill lands mid-send (Mail sends several at once).
SENT_BEFORE_KILL = 100
SENDING_WITHIN = 30.0
# galaxy.mail Settings.send_concurrency's default (the lab does not set SEND_CONCURRENCY): at most this many
# sends are between the sink's 250 and Mail's record when it is killed.
DEFAULT_SEND_CONCURRENCY = 4
RECONNECT_WITHIN = 10.0


async def run_id(redis: aioredis.Redis) -> str:
    """The server's run id (new at every start); the client's first command after a restart may fail once."""

    async def ask() -> str:
        return str((await redis.info("server"))["run_id"])

    return await eventually_async(ask, within=RECONNECT_WITHIN, what="Redis answering", retry_on=RedisConnectionError)


def restart_clean(processes: ProcessControl) -> None:
    with processes.stopped(REDIS):
        pass


def restart_killed(processes: ProcessControl) -> None:
    with processes.killed(REDIS):
        pass


@pytest.mark.disruptive
@pytest.mark.parametrize("restart", [restart_clean, restart_killed], ids=["clean", "kill-9"])
async def test_redis_restart_loses_no_queued_delivery(
    restart: Callable[[ProcessControl], None],
    sink: SmtpSink,
    faults: SinkFaults,
    mail: MailClient,
    redis: aioredis.Redis,
    processes: ProcessControl,
    request: pytest.FixtureRequest,
) -> None:
    load, refusing = await queue_behind_refusals(sink, faults, mail, redis)
    before, redis_run = await depths(redis), await run_id(redis)
    restart(processes)
    processes.wait_ready(MAIL)
    assert await run_id(redis) != redis_run, "Redis was not restarted"
    await faults.remove(refusing)

    seen = await all_arrived(sink, mail, redis, load)

    tell(request, "deliveries", f"queued before the restart: {before}; {seen.summary()}")
    assert len(seen.arrived) == DELIVERIES
    assert seen.duplicates == 0, "sent twice although the sink refused everything while Redis was down"


@pytest.mark.disruptive
async def test_mail_killed_mid_send_loses_no_delivery(
    sink: SmtpSink,
    faults: SinkFaults,
    mail: MailClient,
    redis: aioredis.Redis,
    processes: ProcessControl,
    manifest_send_concurrency: int,
    request: pytest.FixtureRequest,
) -> None:
    load, refusing = await queue_behind_refusals(sink, faults, mail, redis)
    mailbox = await sink.mark()
    await faults.remove(refusing)

    async def sending() -> bool:
        return (await sink.mark()) - mailbox >= SENT_BEFORE_KILL

    await until_async(sending, within=SENDING_WITHIN, what=f"{SENT_BEFORE_KILL} deliveries sent")
    before = await depths(redis)
    with processes.killed(MAIL):
        pass

    seen = await all_arrived(sink, mail, redis, load)

    tell(request, "deliveries", f"at the kill: {before}; {seen.summary()}")
    assert before.unsent > 0, "everything was sent before the kill: the scenario proves nothing"
    assert len(seen.arrived) == DELIVERIES
    assert seen.several_messages == {}, "a delivery was sent as two different messages"
    assert seen.duplicates <= manifest_send_concurrency, "more copies than sends that can be in flight"


@pytest.fixture
def manifest_send_concurrency(manifest: Manifest) -> int:
    return int(manifest.setting(MAIL, "SEND_CONCURRENCY") or DEFAULT_SEND_CONCURRENCY)
