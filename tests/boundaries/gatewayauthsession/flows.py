"""The public login flow through the gateway, with the code read from the mail stub."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from galaxy_contracts.gateway import GatewayClient, pb
from tests.harness.login_codes import MailStubCodes


@dataclass(frozen=True)
class Started:
    email: str
    challenge_id: str
    expires_at: datetime
    code: str


async def start_login(gateway: GatewayClient, codes: MailStubCodes, email: str) -> Started:
    mailed_before = await codes.count(email)
    answer = await gateway.start_login(email)
    code = await codes.nth(email, mailed_before)
    return Started(email, answer.challenge_id, answer.expires_at.ToDatetime(tzinfo=UTC), code)


async def log_in(gateway: GatewayClient, codes: MailStubCodes, email: str) -> pb.ConfirmLoginResponse:
    started = await start_login(gateway, codes, email)
    return await gateway.confirm_login(started.challenge_id, started.code)


def wrong(code: str) -> str:
    """Another well-formed 6-digit code."""
    return f"{(int(code) + 1) % 1_000_000:06d}"
