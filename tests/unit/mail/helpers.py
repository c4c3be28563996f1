"""Shared bits of the Mail Service unit tests."""

from __future__ import annotations

from typing import Any, cast

import fakeredis
import httpx

from galaxy_contracts import streams
from tests.harness.waits import eventually_async

TOKENS = {"authsession": "authsession-token-4b1e", "notification": "notification-token-9c3d", "lab": "lab-token-22f0"}
OPERATOR_TOKEN = "operator-token-7a6b5c"
AUTH = {"Authorization": f"Bearer {TOKENS['authsession']}"}
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
WITHIN = 5.0
LOGIN_CODE: dict[str, Any] = {
    "to": "ada@example.com",
    "template": "auth.login_code",
    "locale": "en",
    "params": {"code": "123456", "expires_in_minutes": 10},
}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    return body


async def post_delivery(client: httpx.AsyncClient, key: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return await client.post("/v1/deliveries", json=body or LOGIN_CODE, headers={"Idempotency-Key": key})


async def operator_view(client: httpx.AsyncClient, delivery_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/operator/deliveries/{delivery_id}", headers=OPERATOR)
    assert response.status_code == 200, response.text
    return cast(dict[str, Any], response.json())


async def until_status(client: httpx.AsyncClient, delivery_id: str, *statuses: str) -> dict[str, Any]:
    """The delivery (operator view) once its status is one of ``statuses``."""

    async def check() -> dict[str, Any]:
        view = await operator_view(client, delivery_id)
        assert view["status"] in statuses, view
        return view

    return await eventually_async(check, within=WITHIN, what=f"{delivery_id} {'/'.join(statuses)}")


async def dead_letters(redis: fakeredis.FakeAsyncRedis) -> list[dict[str, str]]:
    entries = await redis.xrange("mail:deliveries:dead")
    letters = [cast(dict[str, str], fields) for _, fields in entries or []]
    for letter in letters:
        streams.validate("mail:deliveries:dead", letter)
    return letters
