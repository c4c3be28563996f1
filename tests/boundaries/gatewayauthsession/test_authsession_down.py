"""Auth/Session stopped through the process manager: the gateway answers a clean UNAVAILABLE, then recovers.

One outage serves the module (stopping and starting a service costs seconds, most of them supervisord's own
pace): ``outage`` logs one address in and starts a challenge for another, stops Auth/Session, makes each
call while it is down (StartLogin, ConfirmLogin of the started challenge, GetMyAccount with the open
session), starts it, logs in again, and records what the gateway answered; each test asserts one thing
about that record. The outage holds the boundary exclusively (tests/boundaries/conftest.py), and the module
is ``disruptive`` so ``--no-disruptive`` skips it and xdist keeps it on one worker.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
import pytest_asyncio

from galaxy_contracts.gateway import pb
from tests.harness.clients import client_for
from tests.harness.fixtures import GATEWAY, MAIL_STUB, module_lab
from tests.harness.keys import unique_email
from tests.harness.locks import BoundaryLock
from tests.harness.login import log_in, start_login
from tests.harness.login_codes import MailStubCodes
from tests.harness.manifest import state_dir
from tests.harness.processes import ProcessControl

pytestmark = pytest.mark.disruptive

AUTHSESSION = "authsession"
REFUSED_CALLS = ("StartLogin", "ConfirmLogin")


@dataclass
class Outage:
    """What the gateway answered while Auth/Session was down, and once it was back."""

    logged_in: pb.ConfirmLoginResponse
    email_after: str = ""
    # A refusal, or the name of the answer's type when the call answered (never the answer: it may hold a token).
    while_down: dict[str, grpc.aio.AioRpcError | str] = field(default_factory=dict)
    account_while_down: pb.Account | grpc.aio.AioRpcError | None = None
    account_after: pb.Account | None = None


async def refusal(call: Awaitable[Any]) -> grpc.aio.AioRpcError | str:
    try:
        answer = await call
    except grpc.aio.AioRpcError as error:
        return error
    return f"answered a {type(answer).__name__}"


async def outcome(call: Awaitable[pb.Account]) -> pb.Account | grpc.aio.AioRpcError:
    try:
        return await call
    except grpc.aio.AioRpcError as error:
        return error


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def outage(request: pytest.FixtureRequest) -> Outage:
    manifest, secrets = module_lab(request)
    async with (
        client_for(manifest.component(GATEWAY), secrets) as gateway,
        client_for(manifest.component(MAIL_STUB), secrets) as mail_stub,
    ):
        codes = MailStubCodes(mail_stub)
        with BoundaryLock(state_dir() / "locks", manifest.boundary).exclusive():
            record = Outage(await log_in(gateway, codes, unique_email("outage-session")))
            started = await start_login(gateway, codes, unique_email("outage-confirm"))
            record.email_after = unique_email("outage-after")
            with ProcessControl(manifest).stopped(AUTHSESSION):
                record.while_down["StartLogin"] = await refusal(gateway.start_login(record.email_after))
                record.while_down["ConfirmLogin"] = await refusal(
                    gateway.confirm_login(started.challenge_id, started.code)
                )
                record.account_while_down = await outcome(gateway.get_my_account(record.logged_in.session_token))
            session = await log_in(gateway, codes, record.email_after)
            record.account_after = await gateway.get_my_account(session.session_token)
    return record


def refused(outage: Outage, call: str) -> grpc.aio.AioRpcError:
    answer = outage.while_down[call]
    assert isinstance(answer, grpc.aio.AioRpcError), f"{call} while Auth/Session was down: {answer}"
    return answer


@pytest.mark.parametrize("call", REFUSED_CALLS)
def test_login_call_is_unavailable_while_authsession_is_down(outage: Outage, call: str) -> None:
    error = refused(outage, call)

    assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()


@pytest.mark.parametrize("call", REFUSED_CALLS)
def test_unavailable_answer_has_a_message_and_no_internals(outage: Outage, call: str) -> None:
    message = refused(outage, call).details() or ""

    assert message.strip(), "UNAVAILABLE without a message"
    assert "Traceback" not in message, message


def test_login_works_again_once_authsession_is_back(outage: Outage) -> None:
    assert outage.account_after is not None
    assert outage.account_after.email == outage.email_after


def test_open_session_keeps_working_while_authsession_is_down(outage: Outage) -> None:
    account = outage.account_while_down

    assert isinstance(account, pb.Account), f"GetMyAccount while Auth/Session was down: {account}"
    assert account.user_id == outage.logged_in.user_id
