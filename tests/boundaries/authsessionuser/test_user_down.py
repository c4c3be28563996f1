"""User Service stopped through the process manager: confirm answers 503 and the challenge stays usable.

Disruptive: each test runs alone within the boundary (tests/boundaries/conftest.py).
"""

from __future__ import annotations

import pytest

from galaxy_contracts.http import AuthSessionClient, Unavailable
from tests.boundaries.authsessionuser.flows import start
from tests.harness.login_codes import MailStubCodes
from tests.harness.processes import ProcessControl

pytestmark = pytest.mark.disruptive

USER = "user"


async def test_confirm_is_503_while_user_service_is_down(
    auth: AuthSessionClient, codes: MailStubCodes, processes: ProcessControl, email: str
) -> None:
    started = await start(auth, codes, email)

    with processes.stopped(USER), pytest.raises(Unavailable) as refused:
        await auth.confirm(started.challenge_id, started.code)

    assert refused.value.reason == "HTTP 503"


async def test_same_challenge_and_code_succeed_once_user_service_is_back(
    auth: AuthSessionClient, codes: MailStubCodes, processes: ProcessControl, email: str
) -> None:
    started = await start(auth, codes, email)
    with processes.stopped(USER), pytest.raises(Unavailable):
        await auth.confirm(started.challenge_id, started.code)

    session = await auth.confirm(started.challenge_id, started.code)

    assert session.new_account
