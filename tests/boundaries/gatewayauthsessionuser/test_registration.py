"""Registration through the public API across gateway, Auth/Session and User, then self-service and logout."""

from __future__ import annotations

import grpc
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys, streams
from galaxy_contracts.gateway import GatewayClient, pb
from tests.boundaries.gatewayauthsessionuser.flows import Registered
from tests.harness.intents import WELCOME, the_intent
from tests.harness.login import log_in
from tests.harness.login_codes import MailStubCodes
from tests.harness.rpc import failure
from tests.harness.waits import eventually_async

# DESIGN §2: after Logout the gateway refuses the token within 1 s.
REVOCATION_DEADLINE = 1.0


async def test_first_login_of_a_fresh_email_registers_a_new_account(registered: Registered) -> None:
    assert registered.session.new_account


async def test_registration_writes_one_schema_valid_welcome_intent(
    registered: Registered, redis: aioredis.Redis
) -> None:
    intent = await the_intent(redis, WELCOME, registered.user_id)

    streams.validate(redis_keys.NOTIFICATION_INTENTS, intent)


async def test_registered_account_is_readable_with_the_new_token(
    gateway: GatewayClient, registered: Registered
) -> None:
    account = await gateway.get_my_account(registered.token)

    assert (account.user_id, account.email) == (registered.session.user_id, registered.email)


async def test_registered_account_can_be_updated(gateway: GatewayClient, registered: Registered) -> None:
    change = pb.Account(display_name="New Member", locale="de")
    await gateway.update_my_account(registered.token, change, ["display_name", "locale"])

    account = await gateway.get_my_account(registered.token)

    assert (account.display_name, account.locale) == ("New Member", "de")


async def test_second_login_resolves_to_the_same_account(
    gateway: GatewayClient, codes: MailStubCodes, registered: Registered
) -> None:
    again = await log_in(gateway, codes, registered.email)

    assert (again.user_id, again.new_account) == (registered.session.user_id, False)


async def test_second_login_sees_the_updated_account(
    gateway: GatewayClient, codes: MailStubCodes, registered: Registered
) -> None:
    await gateway.update_my_account(registered.token, pb.Account(display_name="Kept Name"), ["display_name"])

    again = await log_in(gateway, codes, registered.email)

    assert (await gateway.get_my_account(again.session_token)).display_name == "Kept Name"


async def test_second_login_writes_no_second_welcome_intent(
    gateway: GatewayClient, codes: MailStubCodes, registered: Registered, redis: aioredis.Redis
) -> None:
    await the_intent(redis, WELCOME, registered.user_id)

    await log_in(gateway, codes, registered.email)

    await the_intent(redis, WELCOME, registered.user_id)


async def test_logout_revokes_the_token(gateway: GatewayClient, registered: Registered) -> None:
    await gateway.logout(registered.token)

    async def refused() -> None:
        error = await failure(gateway.get_my_account(registered.token))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error.details()

    await eventually_async(refused, within=REVOCATION_DEADLINE, what="token refused after logout")


async def test_logged_out_token_cannot_update(gateway: GatewayClient, registered: Registered) -> None:
    await gateway.logout(registered.token)

    async def refused() -> None:
        error = await failure(gateway.update_my_account(registered.token, pb.Account(locale="fr"), ["locale"]))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error.details()

    await eventually_async(refused, within=REVOCATION_DEADLINE, what="update refused after logout")
