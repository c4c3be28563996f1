"""The public login flow through the gateway (galaxy.gateway.v1), with the code from any :class:`LoginCodes`.

Generic over where the code is read (the mail stub, an SMTP sink, Mail's operator
surface): suites pass their boundary's code source. One login at a time per
address; suites use a fresh address per test (tests.harness.keys), which also
keeps each test within the per-address StartLogin limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from galaxy_contracts.gateway import GatewayClient, pb
from tests.harness.login_codes import LoginCodes, with_code


@dataclass(frozen=True)
class StartedLogin:
    """A StartLogin answer and the code mailed for it."""

    email: str
    challenge_id: str
    expires_at: datetime
    code: str


async def start_login(gateway: GatewayClient, codes: LoginCodes, email: str) -> StartedLogin:
    answer, code = await with_code(codes, email, lambda: gateway.start_login(email))
    return StartedLogin(email, answer.challenge_id, answer.expires_at.ToDatetime(tzinfo=UTC), code)


async def log_in(gateway: GatewayClient, codes: LoginCodes, email: str) -> pb.ConfirmLoginResponse:
    """StartLogin, the code mailed for it, ConfirmLogin: the new session."""
    started = await start_login(gateway, codes, email)
    return await gateway.confirm_login(started.challenge_id, started.code)
