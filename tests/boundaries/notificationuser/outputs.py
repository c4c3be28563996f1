"""What Notification Service wrote for intents: the entries on its output streams and its dead letters."""

from __future__ import annotations

import redis.asyncio as aioredis

from galaxy_contracts import redis_keys
from galaxy_contracts.http import UserClient
from galaxy_contracts.models import Account, AccountUpdate
from tests.harness import catalog, streams
from tests.harness import redis as lab_redis
from tests.harness.catalog import Channel
from tests.harness.keys import unique_email, unique_name
from tests.harness.redis import StreamEntry
from tests.harness.waits import eventually_async

# One User lookup and one Lua script per intent; generous for two cores with the whole lab running.
HANDLED_TIMEOUT = 15.0
GROUP = redis_keys.NOTIFICATION_GROUP
INTENTS = redis_keys.NOTIFICATION_INTENTS
OWN_LOCALE = "fr"


async def new_account(users: UserClient, tag: str) -> Account:
    """An account created through User Service's API, with a display name and a locale of its own
    (neither the defaults a notification could make up)."""
    created = (await users.resolve(unique_email(tag))).account
    return await users.update(created.user_id, AccountUpdate(display_name=unique_name(tag), locale=OWN_LOCALE))


async def write(redis: aioredis.Redis, *intents: dict[str, str]) -> list[str]:
    """XADD the intents in order; their entry ids on ``notification:intents``."""
    return await streams.add_all(redis, INTENTS, intents)


async def wait_handled(redis: aioredis.Redis, entry_ids: list[str], *, within: float = HANDLED_TIMEOUT) -> None:
    """Until group ``notification`` has read and acknowledged every one of ``entry_ids``."""

    async def all_handled() -> None:
        left = await streams.unhandled(redis, INTENTS, GROUP, entry_ids)
        assert not left, f"{len(left)} of {len(entry_ids)} intents not handled yet"

    await eventually_async(all_handled, within=within, what="intents handled by Notification Service")


async def outputs(redis: aioredis.Redis, channel: Channel, intent_ids: list[str], after: str) -> list[StreamEntry]:
    """Entries of the channel's output stream newer than ``after`` carrying one of ``intent_ids``."""
    return await streams.carrying(redis, catalog.OUTPUT_STREAM[channel], "intent_id", intent_ids, after=after)


async def positions(redis: aioredis.Redis) -> dict[Channel, str]:
    """The newest entry of every output stream: read after these to see only what comes next."""
    return {c: await lab_redis.last_id(redis, catalog.OUTPUT_STREAM[c]) for c in catalog.CHANNELS}
