"""A network partition between two hosts of inventory/example-multihost, counted as clients see it.

The gateway runs on one host, authsession and the boundary's Redis on another (the example's placement).
The partition takes that host's link down inside the run's own namespaces (``NetnsLab.cut_off``): every
packet between it and the gateway's host is dropped without an answer, as on a pulled cable, while the
controller still reaches the gateway. Whatever needs the cut-off host must end, for a client, as a clean
``UNAVAILABLE`` with a message naming what is unreachable, within the gateway's own deadline
(``RPC_TIMEOUT_SECONDS``): never ``INTERNAL``, never a call that waits past it. When the link returns,
logins succeed again within a polled deadline, and a bounded login load run across the partition loses
nothing (a client starts a login over on ``UNAVAILABLE``). The link is up again however a test ends.

Runs before the example's teardown (the multihost conftest orders teardown last).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from galaxy_contracts.gateway import GatewayClient
from tests.boundaries.gatewayauthsessionuser.load import LoginLoad, MailedCodes, Tally
from tests.harness import secrets as lab_secrets
from tests.harness.keys import unique_email
from tests.harness.login import log_in, start_login
from tests.harness.login_codes import MailStubCodes
from tests.harness.rpc import error_info
from tests.harness.stubs import StubControl
from tests.harness.tally import tell
from tests.harness.waits import eventually_async, until_async
from tests.multihost.example import MultihostLab, placed_host

pytestmark = pytest.mark.multihost

GATEWAY = "gateway"
MAIL_STUB = "mail-stub"
# The host cut off: authsession's, which is also Redis's in the example (checked below).
CUT_OFF = placed_host("authsession")
Code = grpc.StatusCode
# The gateway's time for a unary call and for one downstream call (docs/conventions.md, the defaults).
RPC_TIMEOUT_DEFAULT = "5"
# A call may end this much after the gateway's deadline (scheduling on a loaded 2-core host).
SLACK = 1.0
# The client waits three times the gateway's deadline: a gateway that waits without one is seen as a call
# that took longer than its deadline (or as the client's DEADLINE_EXCEEDED), never as a hung test.
CLIENT_TIMEOUT_FACTOR = 3.0
RECOVERY = 30.0  # seconds for a login to succeed again once the link is back

LOGINS = 60
CONCURRENCY = 4
WARM_UP = 10  # logins completed before the link goes down
WARM_UP_TIMEOUT = 60.0
# The link stays down until the clients have met it this many times (each client about twice).
ERRORS_WHILE_CUT = 2 * CONCURRENCY
CUT_TIMEOUT = 60.0
GIVE_UP = 90.0  # seconds a client keeps starting one login over
LOAD_TIMEOUT = 240.0


def rpc_timeout(lab: MultihostLab) -> float:
    return float(lab.manifest().setting(GATEWAY, "RPC_TIMEOUT_SECONDS", RPC_TIMEOUT_DEFAULT) or RPC_TIMEOUT_DEFAULT)


def test_the_partition_separates_the_gateway_from_authsession_and_redis() -> None:
    """What this module assumes of the example's placement (its message says what to change)."""
    assert placed_host(GATEWAY) != CUT_OFF, "the gateway must be on another host than authsession"
    assert placed_host("redis") == CUT_OFF, "Redis is expected on authsession's host (one cut covers both)"


@pytest.fixture
async def stub(lab: MultihostLab) -> AsyncIterator[StubControl]:
    """The mail stub (on a host that stays reachable), its earlier deliveries forgotten."""
    manifest = lab.manifest()
    secrets = lab_secrets.read(manifest)
    async with StubControl(manifest.url(MAIL_STUB), secrets.service_token("lab"), verify=secrets.verify()) as control:
        await control.reset()
        yield control


@pytest.fixture
async def gateway(lab: MultihostLab) -> AsyncIterator[GatewayClient]:
    timeout = rpc_timeout(lab) * CLIENT_TIMEOUT_FACTOR
    manifest = lab.manifest()
    roots = lab_secrets.read_tls_ca(manifest)
    async with GatewayClient(manifest.endpoint(GATEWAY), timeout=timeout, root_certificates=roots) as client:
        yield client


@dataclass(frozen=True)
class Ended:
    """How a call ended for the client: its status (``OK``), message, ErrorInfo's service and how long it took."""

    status: str
    detail: str
    service: str
    took: float


async def timed(call: Awaitable[Any]) -> Ended:
    started = time.monotonic()
    try:
        await call
    except grpc.aio.AioRpcError as error:
        info = error_info(error)
        service = info.metadata.get("service", "") if info is not None else ""
        return Ended(error.code().name, error.details() or "", service, time.monotonic() - started)
    return Ended("OK", "", "", time.monotonic() - started)


Probe = Callable[[GatewayClient, StubControl], Awaitable[Callable[[], Awaitable[Any]]]]


async def start_probe(gateway: GatewayClient, stub: StubControl) -> Callable[[], Awaitable[Any]]:
    email = unique_email("partition-start")
    return lambda: gateway.start_login(email)


async def confirm_probe(gateway: GatewayClient, stub: StubControl) -> Callable[[], Awaitable[Any]]:
    """A challenge started (and its code mailed) before the link goes down, confirmed while it is down."""
    started = await start_login(gateway, MailStubCodes(stub), unique_email("partition-confirm"))
    return lambda: gateway.confirm_login(started.challenge_id, started.code)


async def account_probe(gateway: GatewayClient, stub: StubControl) -> Callable[[], Awaitable[Any]]:
    """A session opened before the link goes down, used while it is down."""
    session = await log_in(gateway, MailStubCodes(stub), unique_email("partition-account"))
    return lambda: gateway.get_my_account(session.session_token)


# Each RPC of the login flow and what of the cut-off host it needs first (the ErrorInfo's service).
PROBES: dict[str, tuple[Probe, str]] = {
    "StartLogin": (start_probe, "login rate limiter (redis)"),
    "ConfirmLogin": (confirm_probe, "authsession"),
    "GetMyAccount": (account_probe, "session store (redis)"),
}


@pytest.mark.parametrize("rpc", PROBES)
async def test_a_call_needing_the_cut_off_host_is_unavailable_within_the_deadline(
    request: pytest.FixtureRequest, lab: MultihostLab, gateway: GatewayClient, stub: StubControl, rpc: str
) -> None:
    probe, service = PROBES[rpc]
    call = await probe(gateway, stub)
    deadline = rpc_timeout(lab)

    with lab.hosts.cut_off(CUT_OFF):
        assert not lab.hosts.link_is_up(CUT_OFF)
        ended = await timed(call())
    assert lab.hosts.link_is_up(CUT_OFF)
    recovered = await login_again(gateway, stub)
    tell(request, f"partition {rpc}", f"{ended.status} after {ended.took:.2f}s ({ended.detail}); {recovered}")

    assert (ended.status, ended.service) == (Code.UNAVAILABLE.name, service), ended
    assert ended.detail, "UNAVAILABLE without a message"
    assert ended.took <= deadline + SLACK, f"{rpc} took {ended.took:.1f}s, past the gateway's {deadline:g}s deadline"


async def login_again(gateway: GatewayClient, stub: StubControl) -> str:
    """A whole login through the gateway succeeds again (polled, a fresh address per try): how long it took."""
    started = time.monotonic()
    tries = 0

    async def log_in_once() -> None:
        nonlocal tries
        tries += 1
        await log_in(gateway, MailStubCodes(stub), unique_email("partition-again"))

    await eventually_async(log_in_once, within=RECOVERY, what="a login after the link is back", retry_on=Exception)
    return f"a login succeeded again {time.monotonic() - started:.1f}s after the link was back ({tries} tries)"


async def test_a_login_load_across_a_partition_loses_nothing(
    request: pytest.FixtureRequest, lab: MultihostLab, gateway: GatewayClient, stub: StubControl
) -> None:
    deadline = rpc_timeout(lab)
    load = LoginLoad(
        lab.manifest().endpoint(GATEWAY),
        MailedCodes(stub),
        logins=LOGINS,
        concurrency=CONCURRENCY,
        retry_on={Code.UNAVAILABLE},
        give_up=GIVE_UP,
        timeout=deadline * CLIENT_TIMEOUT_FACTOR,
        root_certificates=lab_secrets.read_tls_ca(lab.manifest()),
    )
    tally: Tally
    async with load:
        await load.reached(WARM_UP, within=WARM_UP_TIMEOUT)
        with lab.hosts.cut_off(CUT_OFF):
            cut, seen = time.monotonic(), load.errors_seen

            async def met_enough() -> bool:
                return load.errors_seen - seen >= ERRORS_WHILE_CUT

            await until_async(
                met_enough,
                within=CUT_TIMEOUT,
                what=f"{ERRORS_WHILE_CUT} errors seen by the clients while {CUT_OFF} is cut off",
            )
        back = time.monotonic()
        tally = await load.finished(within=LOAD_TIMEOUT)
    recovered = await login_again(gateway, stub)
    late = [seen for seen in tally.errors if seen.at > back + deadline + SLACK]
    slow = [seen for seen in tally.errors if seen.took > deadline + SLACK]
    steps = ", ".join(f"{step} {count}" for step, count in sorted(tally.calls.items()))
    tell(
        request,
        f"partition of {CUT_OFF} under login load",
        f"cut {back - cut:.1f}s; {tally.summary()}; calls by step: {steps}; "
        f"slowest error {max((s.took for s in tally.errors), default=0):.2f}s; "
        f"{tally.completed_after(back)} completed after the link was back; {recovered}",
    )

    assert not tally.other_than({Code.UNAVAILABLE}), f"statuses a client must not see: {tally.summary()}"
    assert all(seen.detail for seen in tally.errors), "an UNAVAILABLE without a message"
    assert not slow, f"calls past the gateway's {deadline:g}s deadline: {slow}"
    assert tally.lost == 0, tally.summary()
    assert not late, f"errors after the link was back (+{deadline + SLACK:g}s): {late}"
    assert tally.completed_after(back) > 0, "no login completed after the link was back"
