"""``AccountStore`` in the boundary's Redis, under the service's private ``user:`` keys.

``user:account:{user_id}`` is a hash of the account; ``user:email:{email}`` maps a
normalised e-mail to its user id. Both are written by one Lua script, so an
e-mail gets exactly one account however many callers race to create it. A change is written only if the
account is still as it was read (compare and write in one script), and its notification intent is appended
to ``notification:intents`` in the same script.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import cast

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from galaxy.user.domain.errors import StaleAccount, StoreUnavailable
from galaxy.user.domain.model import Account, Intent, Preferences
from galaxy_contracts import redis_keys, streams

ACCOUNT_KEY = "user:account:{}"
EMAIL_KEY = "user:email:{}"
PRODUCER = "user"

# KEYS: email index, new account hash. ARGV: new user id, then the hash's field/value pairs.
_CREATE_OR_GET = """
local existing = redis.call('GET', KEYS[1])
if existing then return {existing, 0} end
local unpack = unpack or table.unpack
redis.call('HSET', KEYS[2], unpack(ARGV, 2))
redis.call('SET', KEYS[1], ARGV[1])
return {ARGV[1], 1}
"""

# KEYS: account hash, intents stream. ARGV: number of expected field/value items, those items (the account
# as the caller read it), number of hash field/value items, those items, then the intent entry's field/value
# pairs (none: no intent). Writes only while every expected field still has its value, so a change and its
# intent are computed against exactly the state they replace. Never recreates a missing account.
# -> 1 written, 0 no account, -1 stale (the account changed since it was read; nothing written)
_UPDATE_EXISTING = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local unpack = unpack or table.unpack
local e = tonumber(ARGV[1])
for i = 2, e, 2 do
  if (redis.call('HGET', KEYS[1], ARGV[i]) or '') ~= ARGV[i + 1] then return -1 end
end
local first = e + 3
local last = first + tonumber(ARGV[e + 2]) - 1
redis.call('HSET', KEYS[1], unpack(ARGV, first, last))
if #ARGV > last then
  redis.call('XADD', KEYS[2], '*', unpack(ARGV, last + 1))
end
return 1
"""

_HASH_FIELDS = {"preferences": ("email_enabled", "push_enabled")}


@contextmanager
def unavailable_on_outage() -> Iterator[None]:
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as exc:
        raise StoreUnavailable(type(exc).__name__) from exc


def encode(account: Account) -> dict[str, str]:
    return {
        "user_id": account.user_id,
        "email": account.email,
        "display_name": account.display_name,
        "locale": account.locale,
        "email_enabled": _flag(account.preferences.email_enabled),
        "push_enabled": _flag(account.preferences.push_enabled),
        "blocked": _flag(account.blocked),
        "block_reason": account.block_reason,
        "created_at": account.created_at.isoformat(),
        "updated_at": account.updated_at.isoformat(),
    }


def decode(fields: dict[str, str]) -> Account:
    return Account(
        user_id=fields["user_id"],
        email=fields["email"],
        display_name=fields["display_name"],
        locale=fields["locale"],
        preferences=Preferences(
            email_enabled=fields["email_enabled"] == "1", push_enabled=fields["push_enabled"] == "1"
        ),
        blocked=fields["blocked"] == "1",
        block_reason=fields.get("block_reason", ""),
        created_at=datetime.fromisoformat(fields["created_at"]),
        updated_at=datetime.fromisoformat(fields["updated_at"]),
    )


def intent_entry(intent: Intent) -> dict[str, str]:
    """The ``notification:intents`` entry of ``intent``; raises InvalidEntry unless it matches the schema
    and the catalog (contracts/streams/notification-intent.schema.json)."""
    fields = {
        "intent_id": intent.intent_id,
        "type": intent.type,
        "user_id": intent.user_id,
        "params": json.dumps(intent.params, separators=(",", ":"), ensure_ascii=False),
        "occurred_at": intent.occurred_at.isoformat(),
        "producer": PRODUCER,
    }
    streams.validate(redis_keys.NOTIFICATION_INTENTS, fields)
    spec = streams.catalog()["types"].get(intent.type)
    if spec is None or set(spec["params"]) - set(intent.params):
        raise streams.InvalidEntry(f"{redis_keys.NOTIFICATION_INTENTS}: {intent.type}: not in the catalog as sent")
    return fields


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _pairs(fields: dict[str, str]) -> list[str]:
    return [item for pair in fields.items() for item in pair]


class RedisAccountStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._create_or_get = redis.register_script(_CREATE_OR_GET)
        self._update_existing = redis.register_script(_UPDATE_EXISTING)

    async def get(self, user_id: str) -> Account | None:
        with unavailable_on_outage():
            fields = cast(dict[str, str], await self._redis.hgetall(ACCOUNT_KEY.format(user_id)))
        return decode(fields) if fields else None

    async def create_or_get(self, candidate: Account) -> tuple[Account, bool]:
        keys = [EMAIL_KEY.format(candidate.email), ACCOUNT_KEY.format(candidate.user_id)]
        with unavailable_on_outage():
            user_id, created = await self._create_or_get(
                keys=keys, args=[candidate.user_id, *_pairs(encode(candidate))]
            )
        if created:
            return candidate, True
        existing = await self.get(user_id)
        if existing is None:
            raise LookupError(f"e-mail index points at missing account {user_id}")
        return existing, False

    async def save(
        self, account: Account, attributes: Collection[str], announce: Intent | None = None, *, replacing: Account
    ) -> bool:
        everything = encode(account)
        names = [name for attribute in attributes for name in _HASH_FIELDS.get(attribute, (attribute,))]
        expected = _pairs(encode(replacing))
        hash_items = _pairs({n: everything[n] for n in names})
        intent_items = _pairs(intent_entry(announce)) if announce else []
        keys = [ACCOUNT_KEY.format(account.user_id), redis_keys.NOTIFICATION_INTENTS]
        args: list[str | int] = [len(expected), *expected, len(hash_items), *hash_items, *intent_items]
        with unavailable_on_outage():
            written = int(await self._update_existing(keys=keys, args=args))
        if written < 0:
            raise StaleAccount(account.user_id)
        return bool(written)
