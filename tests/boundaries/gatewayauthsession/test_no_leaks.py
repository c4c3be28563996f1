"""Per-login secrets (the e-mailed code, the session token) never reach a log of the boundary."""

from __future__ import annotations

import re

import grpc
import pytest

from galaxy_contracts.gateway import GatewayClient
from tests.boundaries.gatewayauthsession.flows import wrong
from tests.harness import logs
from tests.harness.login import start_login
from tests.harness.login_codes import MailStubCodes
from tests.harness.manifest import Manifest
from tests.harness.waits import eventually_async

LOG_TIMEOUT = 5.0


async def test_login_code_and_token_are_in_no_log(
    gateway: GatewayClient, codes: MailStubCodes, email: str, manifest: Manifest
) -> None:
    started = await start_login(gateway, codes, email)
    with pytest.raises(grpc.aio.AioRpcError):
        await gateway.confirm_login(started.challenge_id, wrong(started.code))
    session = await gateway.confirm_login(started.challenge_id, started.code)
    await gateway.get_my_account(session.session_token)
    await gateway.logout(session.session_token)

    async def flow_logged() -> None:
        # The challenge id is logged by design: it proves these are the live, flushed logs of this flow.
        assert started.challenge_id in logs.read(manifest, "authsession")

    await eventually_async(flow_logged, within=LOG_TIMEOUT, what="authsession log of this challenge")
    secrets = {"code": started.code, "wrong code": wrong(started.code), "session token": session.session_token}
    for component in manifest.components:
        text = logs.read(manifest, component)
        leaked = [name for name, value in secrets.items() if re.search(rf"\b{re.escape(value)}\b", text)]
        assert not leaked, f"{component} log contains the {leaked}"
