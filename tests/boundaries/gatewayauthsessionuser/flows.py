"""Registration and login through the gateway, with the code read from the mail stub."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from galaxy_contracts import redis_keys
from galaxy_contracts.gateway import GatewayClient, pb
from tests.harness import redis as lab_redis
from tests.harness.login_codes import MailStubCodes

WELCOME = "account.welcome"
INTENT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Registered:
    email: str
    session: pb.ConfirmLoginResponse

    @property
    def token(self) -> str:
        return self.session.session_token


async def log_in(gateway: GatewayClient, codes: MailStubCodes, email: str) -> pb.ConfirmLoginResponse:
    """StartLogin, the n-th code mailed to ``email``, ConfirmLogin (one login at a time per address)."""
    mailed_before = await codes.count(email)
    started = await gateway.start_login(email)
    code = await codes.nth(email, mailed_before)
    return await gateway.confirm_login(started.challenge_id, code)


async def the_welcome_intent(redis: aioredis.Redis, user_id: str) -> dict[str, str]:
    """The one ``account.welcome`` intent of ``user_id`` (waiting for it); none or several fail."""
    stream = redis_keys.NOTIFICATION_INTENTS
    entry = await lab_redis.only_entry(redis, stream, within=INTENT_TIMEOUT, type=WELCOME, user_id=user_id)
    return entry.fields
