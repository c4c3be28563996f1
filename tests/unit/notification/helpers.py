"""Shared bits of the Notification Service unit tests: the catalog as cases, intents, a User Service double."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import fakeredis
import httpx
from prometheus_client import REGISTRY

from galaxy_contracts import redis_keys, streams
from tests.harness.waits import WaitTimeout, until_async

CATALOG = streams.typed_catalog()
TYPES = sorted(CATALOG.types)
CHANNELS = ("push", "email")
TOKEN = "notification-token-77ab02"
T = TypeVar("T")


def has(intent_type: str, channel: str) -> bool:
    return getattr(CATALOG.types[intent_type], channel) is not None


TYPE_CHANNELS = [(t, c) for t in TYPES for c in CHANNELS if has(t, c)]
RESPECTING = [(t, c) for t, c in TYPE_CHANNELS if CATALOG.types[t].respects_preferences]
IGNORING = [(t, c) for t, c in TYPE_CHANNELS if not CATALOG.types[t].respects_preferences]
PUSH_TYPES = [t for t in TYPES if has(t, "push")]
EMAIL_TYPES = [t for t in TYPES if has(t, "email")]
WITH_PARAMS = [t for t in TYPES if CATALOG.types[t].params]


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def params_for(intent_type: str) -> dict[str, Any]:
    """Every param the type needs, each with a distinct value (so a template mixing them up shows)."""
    return {name: f"{name}-value" for name in CATALOG.types[intent_type].params}


def intent(intent_type: str, user_id: str, **overrides: str) -> dict[str, str]:
    fields = {
        "intent_id": new_id("i"),
        "type": intent_type,
        "user_id": user_id,
        "params": json.dumps(params_for(intent_type)),
        "occurred_at": "2026-01-02T03:04:05+00:00",
        "producer": "lab",
    }
    return fields | overrides


async def write(redis: fakeredis.FakeAsyncRedis, fields: dict[str, str]) -> str:
    return str(await redis.xadd(redis_keys.NOTIFICATION_INTENTS, fields))  # type: ignore[arg-type]


async def entries(redis: fakeredis.FakeAsyncRedis, stream: str) -> list[dict[str, str]]:
    return [dict(fields) for _, fields in await redis.xrange(stream)]


async def pushes(redis: fakeredis.FakeAsyncRedis) -> list[dict[str, str]]:
    return await entries(redis, redis_keys.GATEWAY_PUSH)


async def mails(redis: fakeredis.FakeAsyncRedis) -> list[dict[str, str]]:
    return await entries(redis, redis_keys.MAIL_DELIVERIES)


async def dead(redis: fakeredis.FakeAsyncRedis) -> list[dict[str, str]]:
    return await entries(redis, redis_keys.NOTIFICATION_INTENTS_DEAD)


async def pending(redis: fakeredis.FakeAsyncRedis) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await redis.xpending_range(
        redis_keys.NOTIFICATION_INTENTS, redis_keys.NOTIFICATION_GROUP, "-", "+", 1000
    )
    return rows


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def account(user_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "user_id": user_id,
        "email": f"{user_id[-6:]}@example.com",
        "display_name": f"Name {user_id[-4:]}",
        "locale": "de",
        "notification_preferences": {"email_enabled": True, "push_enabled": True},
        "blocked": False,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }
    return body | changes


@dataclass
class UserDouble:
    """User Service's ``GET /v1/accounts/{user_id}`` as an httpx transport, with faults to switch on."""

    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    down: bool = False
    timing_out: set[str] = field(default_factory=set)
    failing: set[str] = field(default_factory=set)
    hanging: set[str] = field(default_factory=set)
    """Users whose lookup waits until ``release`` is set (or the caller gives up)."""
    release: asyncio.Event = field(default_factory=asyncio.Event)
    calls: list[str] = field(default_factory=list)

    def add(self, **changes: Any) -> str:
        user_id = new_id("u")
        self.accounts[user_id] = account(user_id, **changes)
        return user_id

    def opted_out(self, channel: str) -> str:
        return self.add(
            notification_preferences={"email_enabled": channel != "email", "push_enabled": channel != "push"}
        )

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        user_id = request.url.path.rsplit("/", 1)[-1]
        self.calls.append(user_id)
        if user_id in self.hanging:
            await self.release.wait()
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if user_id in self.timing_out:
            raise httpx.ReadTimeout("timed out", request=request)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return _problem(401, "unauthorized")
        if user_id in self.failing:
            return _problem(503, "unavailable")
        if request.method != "GET" or not request.url.path.startswith("/v1/accounts/"):
            return _problem(404, "not_found")
        if user_id not in self.accounts:
            return _problem(404, "not_found")
        return httpx.Response(200, json=self.accounts[user_id])

    def calls_for(self, user_id: str) -> int:
        return self.calls.count(user_id)


def _problem(status: int, code: str) -> httpx.Response:
    body = {"type": "about:blank", "title": code, "status": status, "code": code}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


async def until(probe: Callable[[], Awaitable[T]], expected: T, within: float = 5.0) -> None:
    """Poll ``probe`` until it returns ``expected``; fail with the last value after ``within`` seconds."""
    last: list[T] = []

    async def matches() -> bool:
        last[:] = [await probe()]
        return last[0] == expected

    try:
        await until_async(matches, within=within, what=f"expected {expected!r}", interval=0.005)
    except WaitTimeout:
        raise AssertionError(f"still {last[0]!r}, expected {expected!r}") from None
