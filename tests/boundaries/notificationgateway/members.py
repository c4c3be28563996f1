"""Users of this boundary: accounts seeded in the user stub (Notification Service enriches from it),
sessions minted with the lab's key (the gateway checks them in Redis)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis

from galaxy_contracts import redis_keys
from galaxy_contracts import streams as contract_streams
from galaxy_contracts.models import Account
from tests.harness import catalog, streams
from tests.harness import redis as lab_redis
from tests.harness.keys import unique_email
from tests.harness.sessions import LabSession, SessionMinter
from tests.harness.stubs import StubControl

# From an intent on the stream to the event at the client: one User lookup and two stream hops.
DELIVERY_TIMEOUT = 15.0


@dataclass(frozen=True)
class Member:
    """An account in the user stub with one or more open sessions."""

    account: Account
    sessions: tuple[LabSession, ...]

    @property
    def user_id(self) -> str:
        return self.account.user_id

    @property
    def token(self) -> str:
        return self.sessions[0].token


async def new_member(stub: StubControl, minter: SessionMinter, tag: str, *, sessions: int = 1) -> Member:
    account = await stub.seed_account(unique_email(tag), display_name=f"{tag[:40]} Name")
    opened = tuple([await minter.open(account.user_id) for _ in range(sessions)])
    return Member(account, opened)


async def push_cursor(redis: aioredis.Redis) -> str:
    """Where a client that starts now resumes from: the newest ``gateway:push`` entry.

    On an empty stream a primer entry (for a user nobody has) is written first and its id returned: ``0-0``
    is a valid cursor only while the stream stays empty, and a test's own intents may be pushed before its
    Subscribe reaches the gateway, which then rightly refuses ``0-0`` as older than the oldest entry.
    """
    newest = await lab_redis.last_id(redis, redis_keys.GATEWAY_PUSH)
    if newest != "0-0":
        return newest
    primer = {
        "intent_id": f"i_{uuid.uuid4().hex}",
        "type": catalog.push_types()[0],
        "user_id": f"u_{uuid.uuid4().hex}",
        "title": "primer",
        "body": "the first entry of the stream, so that every cursor a test takes is an entry id",
        "data": "{}",
        "created_at": datetime.now(UTC).isoformat(),
    }
    contract_streams.validate(redis_keys.GATEWAY_PUSH, primer)
    return await streams.add(redis, redis_keys.GATEWAY_PUSH, primer)


async def send(redis: aioredis.Redis, intent_type: str, member: Member, count: int = 1, *, size: int = 0) -> list[str]:
    """Write ``count`` intents of ``intent_type`` for ``member``; their intent ids, in stream order."""
    intents = [
        catalog.intent(intent_type, member.user_id, params=catalog.sample_params(intent_type, size=size))
        for _ in range(count)
    ]
    await streams.add_all(redis, redis_keys.NOTIFICATION_INTENTS, intents)
    return [i["intent_id"] for i in intents]


async def push_ids(redis: aioredis.Redis, member: Member, after: str) -> list[str]:
    """Ids of the member's ``gateway:push`` entries newer than ``after``, in stream order."""
    entries = await streams.carrying(redis, redis_keys.GATEWAY_PUSH, "user_id", [member.user_id], after=after)
    return streams.ids_of(entries)
