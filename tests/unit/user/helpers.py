"""Shared bits of the User Service unit tests."""

from __future__ import annotations

from typing import cast

import fakeredis

TOKENS = {"authsession": "authsession-token-3f9c1d", "notification": "notification-token-77ab02", "lab": "lab-tok-1"}
AUTH = {"Authorization": f"Bearer {TOKENS['authsession']}"}


async def intents(redis: fakeredis.FakeAsyncRedis) -> list[dict[str, str]]:
    entries = await redis.xrange("notification:intents")
    return [cast(dict[str, str], fields) for _, fields in entries or []]
