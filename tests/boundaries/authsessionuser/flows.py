"""Logins against Auth/Session's HTTP API, called as the gateway would, codes read from the mail stub."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from galaxy_contracts import redis_keys
from galaxy_contracts.http import AuthSessionClient
from galaxy_contracts.models import Session
from tests.harness import redis as lab_redis
from tests.harness.login_codes import MailStubCodes

WELCOME = "account.welcome"
INTENT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Started:
    email: str
    challenge_id: str
    code: str


async def start(auth: AuthSessionClient, codes: MailStubCodes, email: str) -> Started:
    """One challenge at a time per address: the n-th code mailed belongs to the n-th challenge."""
    mailed_before = await codes.count(email)
    challenge = await auth.start_challenge(email)
    return Started(email, challenge.challenge_id, await codes.nth(email, mailed_before))


async def log_in(auth: AuthSessionClient, codes: MailStubCodes, email: str) -> Session:
    started = await start(auth, codes, email)
    return await auth.confirm(started.challenge_id, started.code)


async def the_welcome_intent(redis: aioredis.Redis, user_id: str) -> dict[str, str]:
    """The one ``account.welcome`` intent of ``user_id`` (waiting for it); none or several fail."""
    stream = redis_keys.NOTIFICATION_INTENTS
    entry = await lab_redis.only_entry(redis, stream, within=INTENT_TIMEOUT, type=WELCOME, user_id=user_id)
    return entry.fields
