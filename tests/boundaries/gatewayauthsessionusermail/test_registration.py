"""Full public registration across gateway, Auth/Session, User and Mail, the code delivered over real SMTP."""

from __future__ import annotations

from galaxy_contracts.gateway import GatewayClient, pb
from tests.boundaries.gatewayauthsessionusermail.flows import Registration
from tests.harness.login import log_in
from tests.harness.login_codes import TEMPLATE
from tests.harness.mailed_codes import TEMPLATE_HEADER, SinkCodes
from tests.harness.sink import SmtpSink


async def test_first_login_registers_a_new_account(registration: Registration) -> None:
    assert registration.session.new_account


async def test_new_account_is_readable_through_the_gateway(gateway: GatewayClient, registration: Registration) -> None:
    account = await gateway.get_my_account(registration.session.session_token)

    assert (account.user_id, account.email) == (registration.user_id, registration.email)


async def test_new_account_can_be_updated_through_the_gateway(
    gateway: GatewayClient, registration: Registration
) -> None:
    token = registration.session.session_token
    await gateway.update_my_account(token, pb.Account(display_name="Mail Member"), ["display_name"])

    assert (await gateway.get_my_account(token)).display_name == "Mail Member"


async def test_code_arrives_over_smtp_as_the_login_code_mail(registration: Registration, sink: SmtpSink) -> None:
    (mail,) = await sink.wait(to=registration.email, count=1, timeout=10.0)

    assert mail.header(TEMPLATE_HEADER) == TEMPLATE
    assert registration.started.code in (mail.text or "")


async def test_second_login_gets_a_new_code_and_the_same_account(
    gateway: GatewayClient, mailed: SinkCodes, registration: Registration
) -> None:
    again = await log_in(gateway, mailed, registration.email)

    assert (again.user_id, again.new_account) == (registration.user_id, False)
    assert await mailed.count(registration.email) == 2
