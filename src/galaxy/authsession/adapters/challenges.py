"""``ChallengeStore`` in Redis (a private key space): challenges and their atomic transitions.

Every state change is one Lua script, so concurrent confirms of one challenge
cannot both win: the first right code *claims* the challenge for a short
lease while User Service is asked; ``complete`` then deletes the challenge and
writes the session (and the welcome intent) in the same step.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from typing import cast

import redis.asyncio as aioredis
from redis.typing import EncodableT

from galaxy.authsession.adapters._redis import decoded
from galaxy.authsession.domain.errors import ChallengeNotFound, TooManyAttempts
from galaxy.authsession.domain.model import Challenge, Intent, Session, rfc3339
from galaxy_contracts import redis_keys, streams
from galaxy_contracts.models import LOCALES, Locale

PREFIX = "authsession:challenge:"
# Private keys per e-mail address (a digest, so no address appears in a key name):
STARTS_PREFIX = "authsession:challenge-starts:"  # fixed-window start counter
PRODUCER = "authsession"
INTENTS = redis_keys.NOTIFICATION_INTENTS

# KEYS[1] start counter; ARGV window seconds. -> {starts in this window, seconds left in it}
_COUNT_START = """
local starts = redis.call('INCR', KEYS[1])
local left = redis.call('TTL', KEYS[1])
if left < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {starts, left}
"""

# KEYS[1] challenge; ARGV now, max_attempts. -> {"gone"} | {"spent"} | {"wrong", remaining}
_RECORD_FAILURE = """
local h = redis.call('HMGET', KEYS[1], 'expires_at', 'attempts')
if not h[1] or tonumber(h[1]) <= tonumber(ARGV[1]) then return {'gone'} end
local max = tonumber(ARGV[2])
if tonumber(h[2]) >= max then return {'spent'} end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return {'wrong', max - attempts}
"""

# KEYS[1] challenge; ARGV now, max_attempts, claim, claim_until. -> gone | spent | busy | claimed
_CLAIM = """
local h = redis.call('HMGET', KEYS[1], 'expires_at', 'attempts', 'claim_until')
local now = tonumber(ARGV[1])
if not h[1] or tonumber(h[1]) <= now then return 'gone' end
if tonumber(h[2]) >= tonumber(ARGV[2]) then return 'spent' end
if h[3] and tonumber(h[3]) > now then return 'busy' end
redis.call('HSET', KEYS[1], 'claim', ARGV[3], 'claim_until', ARGV[4])
return 'claimed'
"""

# KEYS[1] challenge; ARGV claim
_RELEASE = """
if redis.call('HGET', KEYS[1], 'claim') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'claim', 'claim_until')
return 1
"""

# KEYS[1] challenge; ARGV claim ('' = unconditional)
_DISCARD = """
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'claim') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
"""

# KEYS challenge, session, user-sessions, intents stream
# ARGV claim, session_id, ttl, then the session hash's field/value pairs (8), then the intent's (if any)
_COMPLETE = """
if redis.call('HGET', KEYS[1], 'claim') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], unpack(ARGV, 4, 11))
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[2])
if #ARGV > 11 then redis.call('XADD', KEYS[4], '*', unpack(ARGV, 12)) end
return 1
"""


def key(challenge_id: str) -> str:
    return PREFIX + challenge_id


def email_digest(email: str) -> str:
    """One digest per mailbox, whatever the letter case the caller used."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def intent_entry(intent: Intent) -> dict[str, str]:
    """The ``notification:intents`` entry of ``intent``; raises streams.InvalidEntry rather than write what
    consumers would refuse."""
    spec = streams.catalog()["types"].get(intent.type)
    if spec is None:
        raise streams.InvalidEntry(f"{INTENTS}: type {intent.type!r} is not in the catalog")
    missing = [name for name in spec.get("params", []) if name not in intent.params]
    if missing:
        raise streams.InvalidEntry(f"{INTENTS}: {intent.type} needs params {missing}")
    fields = {
        "intent_id": intent.intent_id,
        "type": intent.type,
        "user_id": intent.user_id,
        "params": json.dumps(intent.params, separators=(",", ":")),
        "occurred_at": rfc3339(intent.occurred_at),
        "producer": PRODUCER,
    }
    streams.validate(INTENTS, fields)
    return fields


class RedisChallengeStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._record_failure = redis.register_script(_RECORD_FAILURE)
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)
        self._discard = redis.register_script(_DISCARD)
        self._complete = redis.register_script(_COMPLETE)
        self._count_start = redis.register_script(_COUNT_START)

    async def count_start(self, email: str, *, window_seconds: int) -> tuple[int, int]:
        starts, left = await self._count_start(keys=[STARTS_PREFIX + email_digest(email)], args=[window_seconds])
        return int(starts), int(left)

    async def create(self, challenge: Challenge) -> None:
        fields: dict[EncodableT, EncodableT] = {
            "email": challenge.email,
            "locale": challenge.locale or "",
            "code_hash": challenge.code_hash,
            "attempts": "0",
            "created_at": repr(challenge.created_at),
            "expires_at": repr(challenge.expires_at),
        }
        ttl = math.ceil(challenge.expires_at - challenge.created_at)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key(challenge.challenge_id), mapping=fields)
            pipe.expire(key(challenge.challenge_id), ttl)
            await pipe.execute()

    async def get(self, challenge_id: str) -> Challenge | None:
        fields = decoded(await self._redis.hgetall(key(challenge_id)))
        if not fields.get("code_hash"):
            return None
        return Challenge(
            challenge_id=challenge_id,
            email=fields["email"],
            locale=_locale(fields.get("locale", "")),
            code_hash=fields["code_hash"],
            attempts=int(fields["attempts"]),
            created_at=float(fields["created_at"]),
            expires_at=float(fields["expires_at"]),
        )

    async def record_failure(self, challenge_id: str, *, now: float, max_attempts: int) -> int:
        """Count one wrong code; the remaining attempts."""
        result = await self._record_failure(keys=[key(challenge_id)], args=[repr(now), max_attempts])
        if result[0] == "gone":
            raise ChallengeNotFound
        if result[0] == "spent":
            raise TooManyAttempts
        return max(0, int(result[1]))

    async def claim(self, challenge_id: str, *, now: float, max_attempts: int, lease_seconds: float) -> str:
        """Hold the challenge for one confirm; a second confirm meanwhile finds it in use."""
        token = secrets.token_hex(16)
        result = await self._claim(
            keys=[key(challenge_id)], args=[repr(now), max_attempts, token, repr(now + lease_seconds)]
        )
        if result == "spent":
            raise TooManyAttempts
        if result != "claimed":
            raise ChallengeNotFound
        return token

    async def release(self, challenge_id: str, claim: str) -> None:
        await self._release(keys=[key(challenge_id)], args=[claim])

    async def discard(self, challenge_id: str, claim: str | None = None) -> None:
        await self._discard(keys=[key(challenge_id)], args=[claim or ""])

    async def complete(self, challenge_id: str, claim: str, session: Session, intent: Intent | None) -> bool:
        """Consume the challenge, open the session, queue the intent: all or nothing."""
        args: list[str | int] = [claim, session.session_id, session.ttl_seconds]
        args += [item for pair in session.fields().items() for item in pair]
        if intent is not None:
            args += [item for pair in intent_entry(intent).items() for item in pair]
        keys = [
            key(challenge_id),
            redis_keys.session(session.session_id),
            redis_keys.user_sessions(session.user_id),
            INTENTS,
        ]
        return bool(await self._complete(keys=keys, args=args))


def _locale(value: str) -> Locale | None:
    return cast(Locale, value) if value in LOCALES else None
