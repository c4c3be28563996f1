"""User Service stopped through the process manager: self-service is a clean UNAVAILABLE, then works again.

Disruptive: each test runs alone within the boundary (tests/boundaries/conftest.py).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import grpc
import pytest

from galaxy_contracts.gateway import GatewayClient, pb
from tests.harness.processes import ProcessControl
from tests.harness.rpc import failure
from tests.harness.sessions import User

pytestmark = pytest.mark.disruptive

USER = "user"
# How the gateway may name User Service in its message: "user", "user service", "user-service".
NAMES_USER_SERVICE = re.compile(r"\buser([ _-]?service)?\b", re.IGNORECASE)

SelfService = Callable[[GatewayClient, User], Awaitable[pb.Account]]


async def get_my_account(gateway: GatewayClient, user: User) -> pb.Account:
    return await gateway.get_my_account(user.token)


async def update_my_account(gateway: GatewayClient, user: User) -> pb.Account:
    return await gateway.update_my_account(user.token, pb.Account(display_name="While Down"), ["display_name"])


CALLS: list[SelfService] = [get_my_account, update_my_account]


@pytest.mark.parametrize("call", CALLS, ids=lambda call: call.__name__.replace("_", "-"))
async def test_self_service_is_unavailable_while_user_service_is_down(
    gateway: GatewayClient, processes: ProcessControl, user: User, call: SelfService
) -> None:
    with processes.stopped(USER):
        error = await failure(call(gateway, user))

    assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()


async def test_unavailable_message_names_user_service_and_no_internals(
    gateway: GatewayClient, processes: ProcessControl, user: User
) -> None:
    with processes.stopped(USER):
        error = await failure(gateway.get_my_account(user.token))

    message = error.details() or ""
    assert NAMES_USER_SERVICE.search(message), f"UNAVAILABLE message does not name User Service: {message!r}"
    assert "Traceback" not in message, message
    assert user.token not in message, "the message carries the session token"


async def test_get_my_account_works_again_once_user_service_is_back(
    gateway: GatewayClient, processes: ProcessControl, user: User
) -> None:
    with processes.stopped(USER):
        await failure(gateway.get_my_account(user.token))

    account = await gateway.get_my_account(user.token)

    assert (account.user_id, account.email) == (user.user_id, user.account.email)


async def test_update_made_once_user_service_is_back_is_stored(
    gateway: GatewayClient, processes: ProcessControl, user: User
) -> None:
    with processes.stopped(USER):
        await failure(update_my_account(gateway, user))

    await gateway.update_my_account(user.token, pb.Account(display_name="After Restart"), ["display_name"])

    assert (await gateway.get_my_account(user.token)).display_name == "After Restart"
