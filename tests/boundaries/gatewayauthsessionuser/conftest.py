"""The gatewayauthsessionuser boundary: a user registered through the gateway (generic fixtures: harness)."""

from __future__ import annotations

import pytest

from galaxy_contracts.gateway import GatewayClient
from tests.boundaries.gatewayauthsessionuser.flows import Registered
from tests.harness.login import log_in
from tests.harness.login_codes import MailStubCodes


@pytest.fixture
async def registered(gateway: GatewayClient, codes: MailStubCodes, email: str) -> Registered:
    """A new user who just registered through the gateway (first login of a fresh e-mail)."""
    return Registered(email, await log_in(gateway, codes, email))
