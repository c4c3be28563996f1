"""Logins against Auth/Session's HTTP API, called as the gateway would, codes read from the mail stub."""

from __future__ import annotations

from dataclasses import dataclass

from galaxy_contracts.http import AuthSessionClient
from galaxy_contracts.models import Session
from tests.harness.login_codes import LoginCodes, with_code

# authsession waits up to DOWNSTREAM_TIMEOUT_SECONDS (2 s) for User Service; the client waits longer.
CLIENT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Started:
    email: str
    challenge_id: str
    code: str


async def start(auth: AuthSessionClient, codes: LoginCodes, email: str) -> Started:
    challenge, code = await with_code(codes, email, lambda: auth.start_challenge(email))
    return Started(email, challenge.challenge_id, code)


async def log_in(auth: AuthSessionClient, codes: LoginCodes, email: str) -> Session:
    started = await start(auth, codes, email)
    return await auth.confirm(started.challenge_id, started.code)
