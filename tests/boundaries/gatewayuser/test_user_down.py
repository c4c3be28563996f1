"""User Service stopped through the process manager: self-service is a clean UNAVAILABLE, then works again.

One outage serves the module: stopping and starting a service costs seconds (most of it supervisord's
own pace), so ``outage`` stops User Service once, makes each self-service call while it is down,
starts it, makes the calls again, and records what the gateway answered; each test asserts one thing
about that record. The outage holds the boundary exclusively (tests/boundaries/conftest.py), and the
module is ``disruptive`` so ``--no-disruptive`` skips it and xdist keeps it on one worker.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import grpc
import pytest
import pytest_asyncio

from galaxy_contracts.gateway import GatewayClient, pb
from tests.boundaries.gatewayuser.users import DEFAULT_AUDIENCE, new_user
from tests.harness import redis as lab_redis
from tests.harness.clients import client_for
from tests.harness.fixtures import module_lab
from tests.harness.locks import BoundaryLock
from tests.harness.manifest import state_dir
from tests.harness.processes import ProcessControl
from tests.harness.sessions import SessionMinter, User

pytestmark = pytest.mark.disruptive

USER = "user"
# How the gateway may name User Service in its message: "user", "user service", "user-service".
NAMES_USER_SERVICE = re.compile(r"\buser([ _-]?service)?\b", re.IGNORECASE)
UPDATED_AFTER = "After Restart"

SelfService = Callable[[GatewayClient, User], Awaitable[pb.Account]]


async def get_my_account(gateway: GatewayClient, user: User) -> pb.Account:
    return await gateway.get_my_account(user.token)


async def update_my_account(gateway: GatewayClient, user: User) -> pb.Account:
    return await gateway.update_my_account(user.token, pb.Account(display_name="While Down"), ["display_name"])


CALLS: dict[str, SelfService] = {"get-my-account": get_my_account, "update-my-account": update_my_account}


@dataclass
class Outage:
    """What the gateway answered while User Service was down, and once it was back."""

    user: User
    while_down: dict[str, grpc.aio.AioRpcError | pb.Account] = field(default_factory=dict)
    account_after: pb.Account | None = None
    stored_after_update: pb.Account | None = None


async def outcome(answer: Awaitable[pb.Account]) -> grpc.aio.AioRpcError | pb.Account:
    try:
        return await answer
    except grpc.aio.AioRpcError as error:
        return error


def refusal(outage: Outage, call: str) -> grpc.aio.AioRpcError:
    answer = outage.while_down[call]
    assert isinstance(answer, grpc.aio.AioRpcError), f"{call} answered while User Service was down: {answer}"
    return answer


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def outage(request: pytest.FixtureRequest) -> AsyncIterator[Outage]:
    manifest, secrets = module_lab(request)
    redis = lab_redis.client(manifest)
    audience = manifest.setting("gateway", "TOKEN_AUDIENCE") or DEFAULT_AUDIENCE
    minter = SessionMinter(redis, secrets.signing_key, secrets.signing_kid, audience)
    try:
        async with (
            client_for(manifest.component("gateway"), secrets) as gateway,
            client_for(manifest.component(USER), secrets) as users,
        ):
            with BoundaryLock(state_dir() / "locks", manifest.boundary).exclusive():
                record = Outage(await new_user(users, minter, "outage"))
                with ProcessControl(manifest).stopped(USER):
                    for name, call in CALLS.items():
                        record.while_down[name] = await outcome(call(gateway, record.user))
                record.account_after = await gateway.get_my_account(record.user.token)
                await gateway.update_my_account(
                    record.user.token, pb.Account(display_name=UPDATED_AFTER), ["display_name"]
                )
                record.stored_after_update = await gateway.get_my_account(record.user.token)
        yield record
    finally:
        await redis.aclose()


@pytest.mark.parametrize("call", CALLS)
def test_self_service_is_unavailable_while_user_service_is_down(outage: Outage, call: str) -> None:
    error = refusal(outage, call)

    assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()


@pytest.mark.parametrize("call", CALLS)
def test_unavailable_message_names_user_service_and_no_internals(outage: Outage, call: str) -> None:
    message = refusal(outage, call).details() or ""

    assert NAMES_USER_SERVICE.search(message), f"UNAVAILABLE message does not name User Service: {message!r}"
    assert "Traceback" not in message, message
    assert outage.user.token not in message, "the message carries the session token"


def test_get_my_account_works_again_once_user_service_is_back(outage: Outage) -> None:
    account = outage.account_after

    assert account is not None
    assert (account.user_id, account.email) == (outage.user.user_id, outage.user.account.email)


def test_update_made_once_user_service_is_back_is_stored(outage: Outage) -> None:
    assert outage.stored_after_update is not None
    assert outage.stored_after_update.display_name == UPDATED_AFTER
