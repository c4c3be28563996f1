"""The suite's load scenario: 1,000 auth-code deliveries queued behind SMTP refusals, a disruption, then the count.

Every delivery goes to its own address, so the sink's attempts log tells, per
delivery, how many copies arrived and with which ``Message-ID``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import redis.asyncio as aioredis

from galaxy_contracts.http import MailClient
from galaxy_contracts.models import Delivery
from tests.boundaries.authsessionmail.flows import SinkFaults
from tests.harness.arrivals import Arrivals, arrivals, attempts_mark
from tests.harness.keys import EMAIL_DOMAIN
from tests.harness.mail_load import Depths, depths, send_many
from tests.harness.sink import Fault, SmtpSink
from tests.harness.waits import WaitTimeout, until_async

DELIVERIES = 1000
TEMPLATE = "auth.login_code"
PARAMS = {"code": "424242", "expires_in_minutes": 10}
TRANSIENT = 451
# Every delivery must be sent within Mail's lifetime (30 s in the lab) of its acceptance; the whole count
# is bounded well above that.
ARRIVAL_DEADLINE = 120.0
RETRIES_SCHEDULED_WITHIN = 15.0
DIAGNOSED = 10


@dataclass(frozen=True)
class Load:
    """The accepted deliveries (``{recipient: delivery}``) and the attempts log position before them."""

    deliveries: dict[str, Delivery]
    mark: int


@dataclass(frozen=True)
class Outcome:
    before: Depths
    arrivals: Arrivals


Disruption = Callable[[Load], Awaitable[None]]


async def queue_behind_refusals(
    sink: SmtpSink, faults: SinkFaults, mail: MailClient, redis: aioredis.Redis
) -> tuple[Load, Fault]:
    """1,000 deliveries accepted while the sink refuses every message with 451 (so all are queued or
    waiting for a retry), and that fault (still refusing). Returns once at least one retry is scheduled."""
    tag = uuid.uuid4().hex[:12]
    recipients = [f"bulk-{tag}-{n}@{EMAIL_DOMAIN}" for n in range(DELIVERIES)]
    mark = await attempts_mark(sink)
    fault = await faults.add(code=TRANSIENT, times=None)
    accepted = await send_many(mail, recipients, TEMPLATE, PARAMS, key_prefix=f"bulk-{tag}")
    assert len({d.delivery_id for d in accepted.values()}) == DELIVERIES, "fewer deliveries than requests"

    # An async probe: tenacity awaits only coroutine functions (a lambda's coroutine would count as true).
    async def retries_scheduled() -> bool:
        return (await depths(redis)).due > 0

    await until_async(retries_scheduled, within=RETRIES_SCHEDULED_WITHIN, what="a retry scheduled in mail:due")
    return Load(accepted, mark), fault


async def all_arrived(sink: SmtpSink, mail: MailClient, redis: aioredis.Redis, load: Load) -> Arrivals:
    """What arrived, counted once Mail has nothing left to send (queued, in flight or due), or the deadline
    passed; missing deliveries are named with their status."""

    async def drained() -> bool:
        return (await depths(redis)).unsent == 0

    with contextlib.suppress(WaitTimeout):  # then what is missing is named below
        await until_async(drained, within=ARRIVAL_DEADLINE, what="Mail's queue drained", interval=0.2)
    seen = await arrivals(sink, load.deliveries, after=load.mark)
    assert not seen.missing, f"{seen.summary()}; {await _diagnose(mail, load, seen)}"
    return seen


async def _diagnose(mail: MailClient, load: Load, seen: Arrivals) -> str:
    missing = sorted(seen.missing)[:DIAGNOSED]
    states = [await mail.get(load.deliveries[r].delivery_id) for r in missing]
    return "missing, e.g.: " + "; ".join(f"{d.delivery_id} {d.status} ({d.last_error})" for d in states)
