"""Faults the boundary survives, counted as clients see them (the counts go to the report through ``tell``).

- Each service, and the boundary's Redis, ``kill -9``ed once while a bounded login load runs; supervisord
  restarts it by itself. Nothing is lost (every login completes, retried by its client where the status says
  so), every error a client saw is a clean status, seen only while the component was down (plus a margin),
  and logins succeed once it is back.
- The ephemeral Redis restarted (clean, then ``kill -9``) under open sessions: the sessions are gone by
  design, so their calls are ``UNAUTHENTICATED`` once Redis is back (never ``INTERNAL``, ``UNKNOWN`` or
  ``UNAVAILABLE``); while it is down a call is ``UNAVAILABLE``; a new login works.

Disruptive: each test holds the boundary alone. The process manager is driven through the manifest
(tests.harness.processes) from a worker thread, so the clients keep running while it waits.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
import pytest

from galaxy_contracts.gateway import GatewayClient, pb
from tests.boundaries.gatewayauthsessionuser.load import LoginLoad, MailedCodes
from tests.harness.fixtures import Clients
from tests.harness.keys import unique_email
from tests.harness.login import log_in
from tests.harness.login_codes import MailStubCodes
from tests.harness.manifest import Manifest
from tests.harness.processes import REDIS, ProcessControl
from tests.harness.stubs import StubControl
from tests.harness.tally import tell
from tests.harness.waits import until_async

pytestmark = pytest.mark.disruptive

GATEWAY = "gateway"
MAIL_STUB = "mail-stub"
Code = grpc.StatusCode

# While a component is down a call could not be served: the client tries again.
TRANSIENT = frozenset({Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED})
# An ephemeral Redis comes back empty: a challenge started before is gone (ConfirmLogin NOT_FOUND), so is a
# session opened before (UNAUTHENTICATED). Lost by design; the client starts its login over.
LOST_WITH_REDIS = frozenset({Code.NOT_FOUND, Code.UNAUTHENTICATED})
# The statuses a client may see when each component is killed, all of which it answers by retrying.
CLEAN = {"gateway": TRANSIENT, "authsession": TRANSIENT, "user": TRANSIENT, REDIS: TRANSIENT | LOST_WITH_REDIS}

LOGINS = 200
CONCURRENCY = 8
KILL_AFTER = 40  # logins completed before the kill, so it lands mid-load
GIVE_UP = 45.0  # seconds a client keeps retrying one login
# After the component is ready again: one reconnect of a client (<= 0.5 s, load.CHANNEL_OPTIONS) and the
# calls that were in flight, on a loaded 2-core host.
MARGIN = 2.0
WARM_UP_TIMEOUT = 60.0
LOAD_TIMEOUT = 240.0
RESTART_TIMEOUT = 60.0


@dataclass(frozen=True)
class Outage:
    """From just before the kill until the component answered its readiness probe again (monotonic)."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


async def kill_9(processes: ProcessControl, name: str) -> Outage:
    start = time.monotonic()
    await asyncio.to_thread(processes.kill_and_await_restart, name, timeout=RESTART_TIMEOUT)
    return Outage(start, time.monotonic())


@pytest.fixture
async def stub(clients: Clients) -> StubControl:
    """The mail stub, its earlier deliveries forgotten (the test holds the boundary alone) so that the load's
    clients read only their own."""
    mail_stub: StubControl = await clients(MAIL_STUB)
    await mail_stub.reset()
    return mail_stub


@pytest.mark.parametrize("target", CLEAN)
async def test_kill_9_each_service_under_login_load(
    request: pytest.FixtureRequest,
    manifest: Manifest,
    processes: ProcessControl,
    clients: Clients,
    stub: StubControl,
    email: str,
    target: str,
) -> None:
    clean = CLEAN[target]
    load = LoginLoad(
        manifest.endpoint(GATEWAY),
        MailedCodes(stub),
        logins=LOGINS,
        concurrency=CONCURRENCY,
        retry_on=clean,
        give_up=GIVE_UP,
    )
    try:
        async with load:
            await load.reached(KILL_AFTER, within=WARM_UP_TIMEOUT)
            outage = await kill_9(processes, target)
            tally = await load.finished(within=LOAD_TIMEOUT)
    finally:
        await asyncio.to_thread(processes.ensure_running, target)
    gateway: GatewayClient = await clients(GATEWAY)  # a new channel: its first call is the final login
    await log_in(gateway, MailStubCodes(stub), email)
    last_error = max((seen.at for seen in tally.errors), default=None)
    tell(
        request,
        f"kill -9 {target}",
        f"down {outage.seconds:.1f}s; {tally.summary()}; {tally.completed_after(outage.end)} completed after it was "
        f"back; last error {'-' if last_error is None else f'{last_error - outage.end:+.1f}s'} from then; "
        "final login ok",
    )

    assert not tally.other_than(clean), f"statuses a client must not see: {tally.summary()}"
    assert tally.lost == 0, tally.summary()
    assert tally.outside(outage.start, outage.end + MARGIN) == [], f"errors outside the outage ({outage.seconds:.1f}s)"
    assert tally.completed_after(outage.end) > 0, "no login completed after the component was back"


# --- the ephemeral Redis restarted under open sessions ---------------------------------------------------

OK = "OK"
# Around a kill -9 a call may land before, during or after the outage: answered, refused as down, or
# refused because the session is gone.
AROUND_A_KILL = {OK} | {code.name for code in TRANSIENT} | {Code.UNAUTHENTICATED.name}
SESSIONS = 4


@dataclass(frozen=True)
class Probe:
    """One self-service call with a session opened before the restart: when it was made and how it ended."""

    at: float
    outcome: str


@dataclass
class Restart:
    down: list[Probe] = field(default_factory=list)  # made while Redis was stopped
    around: list[Probe] = field(default_factory=list)  # made while a killed Redis was coming back


Probes = Callable[[], Awaitable[list[Probe]]]


async def outcome(call: Awaitable[object]) -> Probe:
    at = time.monotonic()
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return Probe(at, error.code().name)
    return Probe(at, OK)


async def restart_clean(processes: ProcessControl, probe: Probes) -> Restart:
    """Stopped; every session probed while Redis is down; started again."""
    await asyncio.to_thread(processes.stop, REDIS)
    down = await probe()
    await asyncio.to_thread(processes.start, REDIS, timeout=RESTART_TIMEOUT)
    return Restart(down=down)


async def restart_killed(processes: ProcessControl, probe: Probes) -> Restart:
    """``kill -9``; supervisord restarts it; the sessions probed all along until it is ready."""
    restarting = asyncio.ensure_future(kill_9(processes, REDIS))
    restart = Restart()

    async def back() -> bool:
        restart.around += await probe()
        return restarting.done()

    await until_async(back, within=RESTART_TIMEOUT, what="redis restarted by supervisord")
    await restarting
    return restart


RESTARTS: dict[str, Callable[[ProcessControl, Probes], Awaitable[Restart]]] = {
    "clean": restart_clean,
    "kill-9": restart_killed,
}


@pytest.mark.parametrize("restart", RESTARTS.values(), ids=RESTARTS)
async def test_ephemeral_redis_restart_ends_sessions_cleanly(
    request: pytest.FixtureRequest,
    processes: ProcessControl,
    gateway: GatewayClient,
    codes: MailStubCodes,
    email: str,
    restart: Callable[[ProcessControl, Probes], Awaitable[Restart]],
) -> None:
    tokens = [(await log_in(gateway, codes, unique_email(f"redis-{n}"))).session_token for n in range(SESSIONS)]
    for token in tokens:
        await gateway.get_my_account(token)  # precondition: each session works

    async def probe() -> list[Probe]:
        return [await outcome(gateway.get_my_account(token)) for token in tokens]

    try:
        seen = await restart(processes, probe)
    finally:
        await asyncio.to_thread(processes.ensure_running, REDIS)
    after = [await outcome(gateway.get_my_account(token)) for token in tokens]
    after += [await outcome(gateway.update_my_account(token, pb.Account(locale="fr"), ["locale"])) for token in tokens]
    fresh = await log_in(gateway, codes, email)
    await gateway.get_my_account(fresh.session_token)
    counts = {name: Counter(p.outcome for p in probes) for name, probes in vars(seen).items() if probes}
    counts["after"] = Counter(p.outcome for p in after)
    tell(request, "redis restart", "; ".join(f"{name}: {dict(c)}" for name, c in counts.items()) + "; new login ok")

    assert {p.outcome for p in seen.down} <= {code.name for code in TRANSIENT}, counts
    assert {p.outcome for p in seen.around} <= AROUND_A_KILL, counts
    assert [p.outcome for p in after] == [Code.UNAUTHENTICATED.name] * len(after), counts
