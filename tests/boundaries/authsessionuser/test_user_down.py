"""User Service stopped through the process manager: confirm answers 503 and the challenge stays usable.

One outage serves the module (stopping and starting a service costs seconds, most of them supervisord's own
pace): ``outage`` starts a challenge, stops User Service, confirms while it is down, starts it, confirms the
same challenge with the same code again, and records both answers; each test asserts one thing about that
record. The outage holds the boundary exclusively (tests/boundaries/conftest.py), and the module is
``disruptive`` so ``--no-disruptive`` skips it and xdist keeps it on one worker.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass

import pytest
import pytest_asyncio

from galaxy_contracts.http import ApiError, AuthSessionClient, Unavailable
from galaxy_contracts.models import Session
from tests.boundaries.authsessionuser.flows import CLIENT_TIMEOUT, Started, start
from tests.harness import secrets as lab_secrets
from tests.harness.clients import client_for
from tests.harness.fixtures import MAIL_STUB, module_lab
from tests.harness.keys import unique_email
from tests.harness.locks import BoundaryLock
from tests.harness.login_codes import MailStubCodes
from tests.harness.manifest import state_dir
from tests.harness.processes import ProcessControl

pytestmark = pytest.mark.disruptive

USER = "user"
Answer = Session | Unavailable | ApiError


@dataclass(frozen=True)
class Outage:
    """One challenge, confirmed while User Service was down and again once it was back."""

    started: Started
    while_down: Answer
    once_back: Answer


async def answer(confirm: Awaitable[Session]) -> Answer:
    try:
        return await confirm
    except (Unavailable, ApiError) as error:
        return error


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def outage(request: pytest.FixtureRequest) -> Outage:
    manifest, secrets = module_lab(request)
    async with (
        AuthSessionClient(
            manifest.url("authsession"),
            secrets.service_token("gateway"),
            timeout=CLIENT_TIMEOUT,
            verify=lab_secrets.verify(manifest),
        ) as auth,
        client_for(manifest.component(MAIL_STUB), secrets) as mail_stub,
    ):
        with BoundaryLock(state_dir() / "locks", manifest.boundary).exclusive():
            started = await start(auth, MailStubCodes(mail_stub), unique_email("outage"))
            with ProcessControl(manifest).stopped(USER):
                while_down = await answer(auth.confirm(started.challenge_id, started.code))
            once_back = await answer(auth.confirm(started.challenge_id, started.code))
    return Outage(started, while_down, once_back)


def test_confirm_is_503_while_user_service_is_down(outage: Outage) -> None:
    refused = outage.while_down

    assert isinstance(refused, Unavailable), f"confirm answered while User Service was down: {refused!r}"
    assert refused.reason == "HTTP 503"


def test_same_challenge_and_code_succeed_once_user_service_is_back(outage: Outage) -> None:
    session = outage.once_back

    assert isinstance(outage.while_down, Unavailable), f"confirm answered while down: {outage.while_down!r}"
    assert isinstance(session, Session), f"the same challenge and code once User Service was back: {session!r}"
    assert session.new_account
