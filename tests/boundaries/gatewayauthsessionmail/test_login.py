"""The public login end to end: StartLogin at the gateway, the code from Mail's operator surface, ConfirmLogin,
an authenticated call. Mail runs its stub provider: the delivery is recorded, never sent."""

from __future__ import annotations

from galaxy_contracts.gateway import GatewayClient
from galaxy_contracts.http import OperatorClient
from tests.harness.login import log_in, start_login
from tests.harness.login_codes import TEMPLATE
from tests.harness.mailed_codes import OperatorCodes


async def test_login_with_the_code_from_the_operator_surface_opens_a_session(
    gateway: GatewayClient, mailed: OperatorCodes, email: str
) -> None:
    session = await log_in(gateway, mailed, email)

    account = await gateway.get_my_account(session.session_token)
    assert (account.user_id, account.email) == (session.user_id, email)


async def test_login_code_delivery_is_recorded_not_sent(
    gateway: GatewayClient, mailed: OperatorCodes, operator: OperatorClient, email: str
) -> None:
    await start_login(gateway, mailed, email)

    (delivery,) = await operator.deliveries(to=email, template=TEMPLATE)
    assert (delivery.status, [a.outcome for a in delivery.history]) == ("recorded", ["recorded"])
    assert delivery.source == "http"
    assert delivery.intent_id is None


async def test_each_login_mails_its_own_code(gateway: GatewayClient, mailed: OperatorCodes, email: str) -> None:
    first = await log_in(gateway, mailed, email)
    second = await log_in(gateway, mailed, email)

    assert await mailed.count(email) == 2
    assert first.user_id == second.user_id
    assert first.session_token != second.session_token


async def test_operator_surface_finds_the_delivery_by_status(
    gateway: GatewayClient, mailed: OperatorCodes, operator: OperatorClient, email: str
) -> None:
    await start_login(gateway, mailed, email)

    assert len(await operator.deliveries(to=email, status="recorded")) == 1
    assert await operator.deliveries(to=email, status="sent") == []
