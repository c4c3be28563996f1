"""Auth/Session stopped through the process manager: the gateway answers a clean UNAVAILABLE, then recovers.

Disruptive: each test runs alone within the boundary (tests/boundaries/conftest.py).
"""

from __future__ import annotations

import grpc
import pytest

from galaxy_contracts.gateway import GatewayClient
from tests.harness.login import log_in, start_login
from tests.harness.login_codes import MailStubCodes
from tests.harness.processes import ProcessControl
from tests.harness.rpc import failure

pytestmark = pytest.mark.disruptive

AUTHSESSION = "authsession"


async def test_start_login_is_unavailable_while_authsession_is_down(
    gateway: GatewayClient, processes: ProcessControl, email: str
) -> None:
    with processes.stopped(AUTHSESSION):
        error = await failure(gateway.start_login(email))

    assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()


async def test_unavailable_answer_has_a_message_and_no_internals(
    gateway: GatewayClient, processes: ProcessControl, email: str
) -> None:
    with processes.stopped(AUTHSESSION):
        error = await failure(gateway.start_login(email))

    message = error.details() or ""
    assert message.strip(), "UNAVAILABLE without a message"
    assert "Traceback" not in message, message


async def test_confirm_login_is_unavailable_while_authsession_is_down(
    gateway: GatewayClient, codes: MailStubCodes, processes: ProcessControl, email: str
) -> None:
    started = await start_login(gateway, codes, email)

    with processes.stopped(AUTHSESSION):
        error = await failure(gateway.confirm_login(started.challenge_id, started.code))

    assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()


async def test_login_works_again_once_authsession_is_back(
    gateway: GatewayClient, codes: MailStubCodes, processes: ProcessControl, email: str
) -> None:
    with processes.stopped(AUTHSESSION):
        await failure(gateway.start_login(email))

    session = await log_in(gateway, codes, email)

    assert (await gateway.get_my_account(session.session_token)).email == email


async def test_open_session_keeps_working_while_authsession_is_down(
    gateway: GatewayClient, codes: MailStubCodes, processes: ProcessControl, email: str
) -> None:
    session = await log_in(gateway, codes, email)

    with processes.stopped(AUTHSESSION):
        account = await gateway.get_my_account(session.session_token)

    assert account.user_id == session.user_id
