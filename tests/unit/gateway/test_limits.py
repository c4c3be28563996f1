"""The gateway's limits (the proto's header): StartLogin calls per client address, Subscribe streams per
user, request size, and a time budget for every unary call even without a client deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

import fakeredis
import grpc
import pytest

from galaxy.gateway.adapters.login_starts import RedisLoginStarts
from galaxy.gateway.domain.service import Gateway
from galaxy.gateway.main import Resources, start
from galaxy.gateway.transport.grpc import Servicer, client_address
from galaxy_contracts import redis_keys
from galaxy_contracts.gateway import bearer, pb, pb_grpc
from galaxy_contracts.http import AuthSessionClient, UserClient
from galaxy_contracts.tokens import public_keys_from_pem, public_pem
from tests.harness.rpc import failure, retry_delay
from tests.harness.waits import until_async
from tests.unit.gateway.fakes import CODE
from tests.unit.gateway.helpers import GATEWAY_TOKEN, KID, Lab, settings

T = TypeVar("T")
# What a test waits for an answer the gateway must give well before it: a hang fails the test instead.
GUARD = 5.0
WITHIN = 5.0


async def guarded(call: Awaitable[T]) -> T:
    """``call`` (made without a client deadline), failing the test if the gateway does not answer in time."""
    try:
        async with asyncio.timeout(GUARD):
            return await call
    except TimeoutError:
        pytest.fail(f"the gateway did not answer within {GUARD}s: no server-side time limit")


def start_login(stub: Any, email: str) -> Awaitable[pb.StartLoginResponse]:
    return cast(Awaitable[pb.StartLoginResponse], stub.StartLogin(pb.StartLoginRequest(email=email), timeout=5))


# --- StartLogin calls per client address --------------------------------------------------------------

LIMITED = {"peer_login_starts_per_window": 3, "peer_login_window_seconds": 60}


@pytest.mark.parametrize("gateway_options", [LIMITED])
async def test_a_client_address_over_its_start_limit_is_resource_exhausted_with_retry_info(lab: Lab) -> None:
    for n in range(3):
        await start_login(lab.stub, f"user{n}@example.com")

    error = await failure(start_login(lab.stub, "user3@example.com"))

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    assert "too many logins started from this client address" in error.details()
    delay = retry_delay(error)
    assert delay is not None, "no google.rpc.RetryInfo detail"
    assert 0 < delay <= 60
    assert f"retry in {round(delay)}s" in error.details() or f"retry in {round(delay) + 1}s" in error.details()
    assert len(lab.authsession.requests) == 3, "a refused start must not reach authsession"


@pytest.mark.parametrize("gateway_options", [LIMITED])
async def test_malformed_start_login_calls_count_against_the_limit_too(lab: Lab) -> None:
    for _ in range(3):
        await failure(start_login(lab.stub, "not-an-email"))

    error = await failure(start_login(lab.stub, "ada@example.com"))

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    assert lab.authsession.requests == []


@pytest.mark.parametrize("gateway_options", [{"peer_login_starts_per_window": 1, "peer_login_window_seconds": 1}])
async def test_starts_are_accepted_again_once_the_window_ends(lab: Lab) -> None:
    await start_login(lab.stub, "ada@example.com")
    refused = await failure(start_login(lab.stub, "ada@example.com"))
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (retry_delay(refused) or 0) <= 1

    async def accepted() -> bool:
        try:
            await start_login(lab.stub, "ada@example.com")
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                raise
            return False
        return True

    await until_async(accepted, within=WITHIN, what="StartLogin accepted after the window", interval=0.1)


@pytest.mark.parametrize("gateway_options", [LIMITED])
async def test_the_start_limit_is_shared_by_every_gateway_of_the_deployment(lab: Lab, tmp_path: Path) -> None:
    async with gateway_process(lab, tmp_path, **LIMITED) as other:
        await start_login(lab.stub, "user0@example.com")
        await start_login(other, "user1@example.com")
        await start_login(lab.stub, "user2@example.com")

        error = await failure(start_login(other, "user3@example.com"))

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()


async def test_each_client_address_has_its_own_window() -> None:
    starts = RedisLoginStarts(fakeredis.FakeAsyncRedis(decode_responses=True))

    first = [await starts.count("10.0.0.1", 60, budget=1) for _ in range(3)]
    other = await starts.count("10.0.0.2", 60, budget=1)

    assert [calls for calls, _ in first] == [1, 2, 3]
    assert other[0] == 1
    assert all(0 < left <= 60 for _, left in [*first, other])


@pytest.mark.parametrize(
    ("peer", "address"),
    [
        ("ipv4:10.0.0.7:5555", "10.0.0.7"),
        ("ipv6:[2001:db8::1]:5555", "2001:db8::1"),
        ("ipv6:%5B::1%5D:40000", "::1"),
        ("unix:/run/gateway.sock", "unix"),
    ],
)
def test_the_client_address_is_the_peers_ip_without_its_port(peer: str, address: str) -> None:
    assert client_address(peer) == address


@asynccontextmanager
async def gateway_process(lab: Lab, tmp_path: Path, **options: Any) -> AsyncIterator[Any]:
    """Another gateway process of the same deployment: same Redis, same downstream services; its stub."""
    key = public_keys_from_pem({KID: public_pem(lab.key)})
    resources = Resources(
        redis=fakeredis.FakeAsyncRedis(server=lab.server, decode_responses=True),
        authsession=AuthSessionClient("http://authsession.test", GATEWAY_TOKEN, transport=lab.authsession.transport()),
        users=UserClient("http://user.test", GATEWAY_TOKEN, transport=lab.users.transport()),
        keys=key,
    )
    running = await start(settings(tmp_path, **options), resources, port=0, admin_port=0)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.grpc_port}")
    try:
        yield pb_grpc.GatewayServiceStub(channel)
    finally:
        await channel.close(None)
        await running.stop(0)
        await resources.aclose()


# --- open Subscribe streams per user ------------------------------------------------------------------


class Streams:
    """Subscribe calls opened by a test, all cancelled with it."""

    def __init__(self, lab: Lab) -> None:
        self._lab = lab
        self.calls: list[Any] = []

    def open(self, session: dict[str, Any]) -> Any:
        call = self._lab.stub.Subscribe(pb.SubscribeRequest(), metadata=bearer(session["session_token"]))
        self.calls.append(call)
        return call

    async def until_open(self, count: int) -> None:
        async def opened() -> bool:
            return self._lab.running.hub.open_count == count

        await until_async(opened, within=WITHIN, what=f"{count} open subscription(s)")


@pytest.fixture
async def streams(lab: Lab) -> AsyncIterator[Streams]:
    opened = Streams(lab)
    yield opened
    for call in opened.calls:
        call.cancel()


async def ended_with(call: Any) -> grpc.aio.AioRpcError:
    """The status a Subscribe call was refused with; failing the test when it stays open."""
    try:
        async with asyncio.timeout(WITHIN):
            await call.read()
    except grpc.aio.AioRpcError as error:
        return error
    except TimeoutError:
        pass
    pytest.fail("the stream was accepted")


async def delivered(lab: Lab, call: Any, user_id: str) -> None:
    """An entry pushed now reaches ``call``, an open (registered) stream of ``user_id``."""

    async def following() -> bool:
        return lab.running.consumer.position is not None

    await until_async(following, within=WITHIN, what="the push consumer")
    fields = {"intent_id": "i_" + "0" * 32, "type": "account.welcome", "user_id": user_id, "title": "t", "body": "b"}
    fields |= {"data": "{}", "created_at": "2024-01-01T00:00:00+00:00"}
    entry_id = await lab.redis.xadd(redis_keys.GATEWAY_PUSH, fields)
    async with asyncio.timeout(WITHIN):
        event = await call.read()
    assert event.event_id == entry_id


@pytest.mark.parametrize("gateway_options", [{"subscriptions_per_user": 2}])
async def test_a_subscribe_beyond_the_users_cap_is_resource_exhausted(lab: Lab, streams: Streams) -> None:
    ada = await lab.login("ada@example.com")
    streams.open(ada), streams.open(ada)
    await streams.until_open(2)

    error = await ended_with(streams.open(ada))

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    assert "already has 2 open push streams" in error.details()
    assert lab.running.hub.open_count == 2


@pytest.mark.parametrize("gateway_options", [{"subscriptions_per_user": 2}])
async def test_the_subscribe_cap_is_per_user(lab: Lab, streams: Streams) -> None:
    ada, bob = await lab.login("ada@example.com"), await lab.login("bob@example.com")
    streams.open(ada), streams.open(ada)
    await streams.until_open(2)

    bobs = streams.open(bob)
    await streams.until_open(3)

    await delivered(lab, bobs, bob["user_id"])


@pytest.mark.parametrize("gateway_options", [{"subscriptions_per_user": 2}])
async def test_closing_a_stream_frees_its_slot(lab: Lab, streams: Streams) -> None:
    ada = await lab.login("ada@example.com")
    first, _ = streams.open(ada), streams.open(ada)
    await streams.until_open(2)

    first.cancel()
    await streams.until_open(1)
    again = streams.open(ada)
    await streams.until_open(2)

    await delivered(lab, again, ada["user_id"])


# --- request size -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gateway_options", "size"),
    [({}, 64 * 1024 + 1), ({"max_request_bytes": 2048}, 2049)],
    ids=["default-64KiB", "setting"],
)
async def test_an_oversized_request_is_resource_exhausted_and_the_gateway_keeps_serving(lab: Lab, size: int) -> None:
    error = await failure(start_login(lab.stub, "a" * size))

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    assert error.details(), "the refusal says why"
    assert lab.authsession.requests == []
    assert (await start_login(lab.stub, "ada@example.com")).challenge_id


@pytest.mark.parametrize("gateway_options", [{"max_request_bytes": 2048}])
async def test_a_request_within_the_size_limit_is_read(lab: Lab) -> None:
    error = await failure(start_login(lab.stub, "a" * 1900))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()


# --- a time budget for every unary call ---------------------------------------------------------------

BUDGET = {"downstream_timeout_seconds": 30, "rpc_timeout_seconds": 0.5}


async def call_without_deadline(lab: Lab, rpc: str, token: str) -> Any:
    metadata = bearer(token)
    calls = {
        "StartLogin": lambda: lab.stub.StartLogin(pb.StartLoginRequest(email="ada@example.com")),
        "ConfirmLogin": lambda: lab.stub.ConfirmLogin(pb.ConfirmLoginRequest(challenge_id="c_" + "0" * 32, code=CODE)),
        "Logout": lambda: lab.stub.Logout(pb.LogoutRequest(), metadata=metadata),
        "GetMyAccount": lambda: lab.stub.GetMyAccount(pb.GetMyAccountRequest(), metadata=metadata),
        "UpdateMyAccount": lambda: lab.stub.UpdateMyAccount(
            pb.UpdateMyAccountRequest(
                account=pb.Account(display_name="Grace"), update_mask={"paths": ["display_name"]}
            ),
            metadata=metadata,
        ),
    }
    return await calls[rpc]()


@pytest.mark.parametrize("gateway_options", [BUDGET])
@pytest.mark.parametrize("rpc", ["StartLogin", "ConfirmLogin", "Logout", "GetMyAccount", "UpdateMyAccount"])
async def test_a_hanging_downstream_is_unavailable_within_the_gateways_time_without_a_client_deadline(
    lab: Lab, rpc: str
) -> None:
    session = await lab.login()
    lab.authsession.hang = lab.users.hang = True
    started = time.monotonic()

    error = await guarded(failure(call_without_deadline(lab, rpc, session["session_token"])))

    assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()
    assert error.details().startswith(("authsession unavailable", "user unavailable")), error.details()
    assert time.monotonic() - started < 0.5 + 1


class HangingGateway:
    """Use cases that never answer and honour no budget: only the gateway's own limit ends the call."""

    async def start_login(self, *args: Any) -> Any:
        await asyncio.Event().wait()


async def test_a_call_that_outlives_the_gateways_time_is_deadline_exceeded() -> None:
    server = grpc.aio.server()
    pb_grpc.add_GatewayServiceServicer_to_server(Servicer(cast(Gateway, HangingGateway()), rpc_timeout=0.3), server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = pb_grpc.GatewayServiceStub(channel)
            error = await guarded(failure(stub.StartLogin(pb.StartLoginRequest(email="ada@example.com"))))
    finally:
        await server.stop(0)

    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED, error.details()
    assert error.details() == "no answer within the gateway's 0.3s for a call; try again later"
