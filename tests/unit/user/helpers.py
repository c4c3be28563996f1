"""Shared bits of the User Service unit tests."""

from __future__ import annotations

from typing import Any, cast

import fakeredis
import httpx

TOKENS = {"authsession": "authsession-token-3f9c1d", "notification": "notification-token-77ab02", "lab": "lab-tok-1"}
AUTH = {"Authorization": f"Bearer {TOKENS['authsession']}"}


async def intents(redis: fakeredis.FakeAsyncRedis) -> list[dict[str, str]]:
    entries = await redis.xrange("notification:intents")
    return [cast(dict[str, str], fields) for _, fields in entries or []]


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert {"type", "title"} <= body.keys()
    return body
