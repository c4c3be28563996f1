"""An account blocked through User Service's own API is refused at the gateway: no login, no self-service.

The block is an operator action: User Service's ``POST /v1/accounts/{id}/block``
called with the lab's service token from the boundary's service-tokens file
(the ``users`` fixture).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc
import pytest

from galaxy_contracts.gateway import GatewayClient, pb
from galaxy_contracts.http import UserClient
from tests.boundaries.gatewayauthsessionuser.flows import Registered
from tests.harness.login import log_in, start_login
from tests.harness.login_codes import MailStubCodes
from tests.harness.rpc import failure

REASON = "lab: blocked by the gatewayauthsessionuser suite"

# Each way blocks the account of ``email`` and returns its user id.
Blocking = Callable[[GatewayClient, MailStubCodes, UserClient, str], Awaitable[str]]


async def after_registering(gateway: GatewayClient, codes: MailStubCodes, users: UserClient, email: str) -> str:
    user_id = (await log_in(gateway, codes, email)).user_id
    await users.block(user_id, REASON)
    return user_id


async def before_any_login(gateway: GatewayClient, codes: MailStubCodes, users: UserClient, email: str) -> str:
    user_id = (await users.resolve(email)).account.user_id
    await users.block(user_id, REASON)
    return user_id


BLOCKINGS: list[Blocking] = [after_registering, before_any_login]


@pytest.mark.parametrize("blocked", BLOCKINGS, ids=lambda way: way.__name__.replace("_", "-"))
async def test_confirm_login_of_a_blocked_account_is_permission_denied(
    gateway: GatewayClient, codes: MailStubCodes, users: UserClient, email: str, blocked: Blocking
) -> None:
    await blocked(gateway, codes, users, email)
    started = await start_login(gateway, codes, email)

    error = await failure(gateway.confirm_login(started.challenge_id, started.code))

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED, error.details()


async def test_permission_denied_login_has_a_message_without_the_code(
    gateway: GatewayClient, codes: MailStubCodes, users: UserClient, email: str
) -> None:
    await after_registering(gateway, codes, users, email)
    started = await start_login(gateway, codes, email)

    error = await failure(gateway.confirm_login(started.challenge_id, started.code))

    message = error.details() or ""
    assert message.strip(), "PERMISSION_DENIED without a message"
    assert started.code not in message, "the message carries the login code"


async def test_unblocked_account_logs_in_to_the_same_account(
    gateway: GatewayClient, codes: MailStubCodes, users: UserClient, email: str
) -> None:
    user_id = await after_registering(gateway, codes, users, email)
    await users.unblock(user_id)

    session = await log_in(gateway, codes, email)

    assert (session.user_id, session.new_account) == (user_id, False)


# --- a session opened before the block ---------------------------------------------------------

SelfService = Callable[[GatewayClient, str], Awaitable[pb.Account]]


async def get_my_account(gateway: GatewayClient, token: str) -> pb.Account:
    return await gateway.get_my_account(token)


async def update_my_account(gateway: GatewayClient, token: str) -> pb.Account:
    return await gateway.update_my_account(token, pb.Account(display_name="Blocked Writer"), ["display_name"])


CALLS: list[SelfService] = [get_my_account, update_my_account]


@pytest.mark.parametrize("call", CALLS, ids=lambda call: call.__name__.replace("_", "-"))
async def test_open_session_of_a_then_blocked_account_is_permission_denied(
    gateway: GatewayClient, users: UserClient, registered: Registered, call: SelfService
) -> None:
    assert await gateway.get_my_account(registered.token), "precondition: the session works before the block"
    await users.block(registered.user_id, REASON)

    error = await failure(call(gateway, registered.token))

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED, error.details()


async def test_blocked_account_is_not_changed_through_its_open_session(
    gateway: GatewayClient, users: UserClient, registered: Registered
) -> None:
    await users.block(registered.user_id, REASON)
    before = await users.get(registered.user_id)

    await failure(update_my_account(gateway, registered.token))

    assert (await users.get(registered.user_id)).model_dump() == before.model_dump()
