"""``ChallengeStore`` in Redis (a private key space): challenges and their atomic transitions.

Every state change is one Lua script, so concurrent confirms of one challenge
cannot both win: the first right code *claims* the challenge for a short
lease while User Service is asked; ``complete`` then deletes the challenge and
writes the session (and the welcome intent) in the same step.

The welcome outbox (contracts/redis/keys.md): the claim also notes that a welcome
may be owed, before User Service can create the account; ``complete`` (and
``discard``) remove the note in their step. A note a confirm left behind becomes
due when its claim's lease ends and is settled by the relay: ``settle_welcome``
removes it and writes the welcome together.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from typing import cast

import redis.asyncio as aioredis
from redis.typing import EncodableT

from galaxy.authsession.adapters._redis import decoded, text
from galaxy.authsession.domain.errors import ChallengeNotFound, TooManyAttempts
from galaxy.authsession.domain.model import Challenge, Claim, Intent, Session, WelcomeNote, rfc3339
from galaxy_contracts import redis_keys, streams
from galaxy_contracts.models import LOCALES, Locale

PREFIX = "authsession:challenge:"
# Private keys per e-mail address (a digest, so no address appears in a key name):
STARTS_PREFIX = "authsession:challenge-starts:"  # fixed-window start counter
OUTBOX = "authsession:welcome-outbox"  # sorted set: challenge ids with a welcome note, score = due time
NOTE_PREFIX = "authsession:welcome-pending:"  # hash per note: email, locale, noted_at, attempts
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

# KEYS[1] challenge, [2] welcome outbox, [3] its note; ARGV now, max_attempts, claim, claim_until, challenge id.
# -> {gone} | {spent} | {busy} | {claimed, 1 if an earlier claim's note was still there else 0}. A claim notes
# a possible welcome, due when the claim's lease ends.
_CLAIM = """
local h = redis.call('HMGET', KEYS[1], 'expires_at', 'attempts', 'claim_until', 'email', 'locale', 'created_at')
local now = tonumber(ARGV[1])
if not h[1] or tonumber(h[1]) <= now then return {'gone'} end
if tonumber(h[2]) >= tonumber(ARGV[2]) then return {'spent'} end
if h[3] and tonumber(h[3]) > now then return {'busy'} end
redis.call('HSET', KEYS[1], 'claim', ARGV[3], 'claim_until', ARGV[4])
local resumed = redis.call('EXISTS', KEYS[3])
redis.call('HSET', KEYS[3], 'email', h[4], 'locale', h[5] or '', 'started_at', h[6] or ARGV[1])
redis.call('HSETNX', KEYS[3], 'attempts', '0')
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
return {'claimed', resumed}
"""

# KEYS[1] challenge; ARGV claim
_RELEASE = """
if redis.call('HGET', KEYS[1], 'claim') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'claim', 'claim_until')
return 1
"""

# KEYS[1] challenge, [2] welcome outbox, [3] its note; ARGV claim ('' = unconditional), challenge id
_DISCARD = """
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'claim') ~= ARGV[1] then return 0 end
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[3])
return redis.call('DEL', KEYS[1])
"""

# KEYS challenge, session, user-sessions, intents stream, welcome outbox, the challenge's note
# ARGV claim, session_id, ttl, challenge id, then the session hash's field/value pairs (8), then the intent's
# (if any)
_COMPLETE = """
if redis.call('HGET', KEYS[1], 'claim') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], unpack(ARGV, 5, 12))
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[2])
if #ARGV > 12 then redis.call('XADD', KEYS[4], '*', unpack(ARGV, 13)) end
redis.call('ZREM', KEYS[5], ARGV[4])
redis.call('DEL', KEYS[6])
return 1
"""

# KEYS[1] welcome outbox; ARGV now, lease_until, limit, note key prefix.
# -> {{challenge id, email, locale, started_at, attempts}, ...} of the due notes, each now due at lease_until
_TAKE_DUE_WELCOMES = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local taken = {}
for _, id in ipairs(ids) do
  local note = ARGV[4] .. id
  local h = redis.call('HMGET', note, 'email', 'locale', 'started_at')
  if h[1] then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    local attempts = redis.call('HINCRBY', note, 'attempts', 1)
    table.insert(taken, {id, h[1], h[2] or '', h[3] or ARGV[1], attempts})
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return taken
"""

# KEYS welcome outbox, the note, intents stream; ARGV challenge id, then the intent's field/value pairs (if any)
_SETTLE_WELCOME = """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
if removed == 0 then return 0 end
if #ARGV > 1 then redis.call('XADD', KEYS[3], '*', unpack(ARGV, 2)) end
return 1
"""


def key(challenge_id: str) -> str:
    return PREFIX + challenge_id


def note_key(challenge_id: str) -> str:
    return NOTE_PREFIX + challenge_id


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
        self._take_due_welcomes = redis.register_script(_TAKE_DUE_WELCOMES)
        self._settle_welcome = redis.register_script(_SETTLE_WELCOME)

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

    async def claim(self, challenge_id: str, *, now: float, max_attempts: int, lease_seconds: float) -> Claim:
        """Hold the challenge for one confirm; a second confirm meanwhile finds it in use."""
        token = secrets.token_hex(16)
        result = await self._claim(
            keys=[key(challenge_id), OUTBOX, note_key(challenge_id)],
            args=[repr(now), max_attempts, token, repr(now + lease_seconds), challenge_id],
        )
        if result[0] == "spent":
            raise TooManyAttempts
        if result[0] != "claimed":
            raise ChallengeNotFound
        return Claim(token, resumed=bool(result[1]))

    async def release(self, challenge_id: str, claim: str) -> None:
        await self._release(keys=[key(challenge_id)], args=[claim])

    async def discard(self, challenge_id: str, claim: str | None = None) -> None:
        await self._discard(keys=[key(challenge_id), OUTBOX, note_key(challenge_id)], args=[claim or "", challenge_id])

    async def complete(self, challenge_id: str, claim: str, session: Session, intent: Intent | None) -> bool:
        """Consume the challenge, open the session, queue the intent: all or nothing."""
        args: list[str | int] = [claim, session.session_id, session.ttl_seconds, challenge_id]
        args += [item for pair in session.fields().items() for item in pair]
        if intent is not None:
            args += [item for pair in intent_entry(intent).items() for item in pair]
        keys = [
            key(challenge_id),
            redis_keys.session(session.session_id),
            redis_keys.user_sessions(session.user_id),
            INTENTS,
            OUTBOX,
            note_key(challenge_id),
        ]
        return bool(await self._complete(keys=keys, args=args))

    async def due_welcomes(self, *, now: float, lease_seconds: float, limit: int) -> list[WelcomeNote]:
        taken = await self._take_due_welcomes(
            keys=[OUTBOX], args=[repr(now), repr(now + lease_seconds), limit, NOTE_PREFIX]
        )
        return [
            WelcomeNote(
                challenge_id=text(challenge_id),
                email=text(email),
                locale=_locale(text(locale)),
                started_at=float(started_at),
                attempts=int(attempts),
            )
            for challenge_id, email, locale, started_at, attempts in taken
        ]

    async def settle_welcome(self, challenge_id: str, intent: Intent | None) -> bool:
        args = [challenge_id]
        if intent is not None:
            args += [item for pair in intent_entry(intent).items() for item in pair]
        keys = [OUTBOX, note_key(challenge_id), INTENTS]
        return bool(await self._settle_welcome(keys=keys, args=args))

    async def pending_welcomes(self) -> int:
        return int(await self._redis.zcard(OUTBOX))


def _locale(value: str) -> Locale | None:
    return cast(Locale, value) if value in LOCALES else None
