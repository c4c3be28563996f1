"""Faults the boundary survives, counted as clients see them (the counts go to the report through ``tell``).

- Each service, and the boundary's Redis, ``kill -9``ed once while a bounded login load runs (load.py);
  supervisord restarts it by itself. Nothing is lost (every login completes, started over by its client on a
  clean status: ``UNAVAILABLE`` or ``DEADLINE_EXCEEDED``, and for the ephemeral Redis also what it loses by
  design), no client sees anything else (``INTERNAL``, ``UNKNOWN``, ...), errors come only while the
  component is down (plus a margin), and logins complete again once it is back.
- The ephemeral Redis restarted under open sessions, cleanly (with calls while it is down: ``UNAVAILABLE``)
  and by ``kill -9`` (no call until it is back, so the services' pooled connections are all dead ones): the
  sessions are gone by design, so every call with them is ``UNAUTHENTICATED`` once Redis is back (never
  ``INTERNAL``, ``UNKNOWN`` or ``UNAVAILABLE``), and a new login works.

Disruptive: each test holds the boundary alone. The process manager is driven through the manifest
(tests.harness.processes) from a worker thread, so the clients keep running while it waits.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
import pytest

from galaxy_contracts.gateway import GatewayClient, pb
from tests.boundaries.gatewayauthsessionuser.load import LoginLoad, MailedCodes
from tests.harness import secrets as lab_secrets
from tests.harness.fixtures import Clients
from tests.harness.keys import unique_email
from tests.harness.login import log_in
from tests.harness.login_codes import MailStubCodes
from tests.harness.manifest import Manifest
from tests.harness.processes import REDIS, ProcessControl
from tests.harness.stubs import StubControl
from tests.harness.tally import tell

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
        root_certificates=lab_secrets.read_tls_ca(manifest) if manifest.component(GATEWAY).tls else None,
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

    unclean, lost = tally.other_than(clean), tally.lost
    outside = tally.outside(outage.start, outage.end + MARGIN)
    recovered = tally.completed_after(outage.end)
    assert not unclean, f"statuses a client must not see: {tally.summary()}"
    assert lost == 0, tally.summary()
    assert outside == [], f"errors outside the {outage.seconds:.1f}s outage (+{MARGIN:g}s)"
    assert recovered > 0, "no login completed after the component was back"


# --- the ephemeral Redis restarted under open sessions ---------------------------------------------------

SESSIONS = 8
Probe = Callable[[], Awaitable[list[str]]]  # each session's GetMyAccount, all at once: the outcomes


async def outcome(call: Awaitable[object]) -> str:
    """``OK`` or the status the call ended with."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return str(error.code().name)
    return "OK"


async def restart_clean(processes: ProcessControl, probe: Probe) -> list[str]:
    """Stopped; every session probed (all at once) while Redis is down; started again."""
    await asyncio.to_thread(processes.stop, REDIS)
    down = await probe()
    await asyncio.to_thread(processes.start, REDIS, timeout=RESTART_TIMEOUT)
    return down


async def restart_killed(processes: ProcessControl, probe: Probe) -> list[str]:
    """``kill -9``; supervisord restarts it; no call in between, so every connection the services had pooled is
    a dead one when the first calls after the restart come."""
    await kill_9(processes, REDIS)
    return []


RESTARTS = {"clean": restart_clean, "kill-9": restart_killed}


@pytest.mark.parametrize("restart", RESTARTS.values(), ids=RESTARTS)
async def test_ephemeral_redis_restart_ends_sessions_cleanly(
    request: pytest.FixtureRequest,
    processes: ProcessControl,
    gateway: GatewayClient,
    codes: MailStubCodes,
    email: str,
    restart: Callable[[ProcessControl, Probe], Awaitable[list[str]]],
) -> None:
    tokens = [(await log_in(gateway, codes, unique_email(f"redis-{n}"))).session_token for n in range(SESSIONS)]
    # All at once, each session working: the gateway holds several Redis connections in its pool.
    assert await asyncio.gather(*(outcome(gateway.get_my_account(token)) for token in tokens)) == ["OK"] * SESSIONS

    async def probe() -> list[str]:
        return list(await asyncio.gather(*(outcome(gateway.get_my_account(token)) for token in tokens)))

    try:
        down = await restart(processes, probe)
    finally:
        await asyncio.to_thread(processes.ensure_running, REDIS)
    change = pb.Account(locale="fr")
    after = await asyncio.gather(
        *(outcome(gateway.get_my_account(token)) for token in tokens),
        *(outcome(gateway.update_my_account(token, change, ["locale"])) for token in tokens),
    )
    fresh = await log_in(gateway, codes, email)
    await gateway.get_my_account(fresh.session_token)
    seen = {"while down": Counter(down), "after": Counter(after)}
    tell(
        request, "redis restart", f"{SESSIONS} sessions; " + "; ".join(f"{k}: {dict(v)}" for k, v in seen.items() if v)
    )

    assert set(down) <= {code.name for code in TRANSIENT}, seen
    assert after == [Code.UNAUTHENTICATED.name] * len(after), seen
