"""POST /v1/deliveries and GET /v1/deliveries/{id}: accepted, stored and queued before the answer; one
delivery per idempotency key."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import fakeredis
import httpx
import pytest
from redis.exceptions import OutOfMemoryError, ReadOnlyError, ResponseError

from galaxy.mail.main import create_app
from galaxy.mail.settings import Settings
from galaxy_contracts.http import MailClient
from galaxy_contracts.models import Delivery
from tests.unit.mail.helpers import AUTH, LOGIN_CODE, TOKENS, assert_problem, post_delivery, until_status

DELIVERY_ID = re.compile(r"^d_[0-9a-f]{32}$")


async def test_a_delivery_is_accepted_stored_and_queued(
    idle: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis
) -> None:
    response = await post_delivery(idle, "key-00000001")

    assert response.status_code == 202, response.text
    delivery = Delivery.model_validate(response.json())
    assert DELIVERY_ID.match(delivery.delivery_id)
    assert (delivery.status, delivery.to, delivery.template, delivery.attempts) == (
        "queued",
        "ada@example.com",
        "auth.login_code",
        0,
    )
    assert await redis.lrange("mail:queue", 0, -1) == [delivery.delivery_id]
    assert await redis.hget(f"mail:delivery:{delivery.delivery_id}", "status") == "queued"


async def test_the_auth_code_mail_as_authsession_sends_it_is_accepted(client: httpx.AsyncClient) -> None:
    """Exactly the call of galaxy.authsession.adapters.mail: the contract client, challenge id as the key."""
    transport = client._transport
    async with MailClient("http://mail", TOKENS["authsession"], transport=transport) as mail:
        params = {"code": "042917", "expires_in_minutes": 10}
        key = "c_" + "ab" * 16
        sent = await mail.send("Grace@Example.com", "auth.login_code", params, idempotency_key=key, locale="de")
        again = await mail.send("Grace@Example.com", "auth.login_code", params, idempotency_key=key, locale="de")

    assert again.delivery_id == sent.delivery_id
    view = await until_status(client, sent.delivery_id, "recorded")
    assert view["subject"] == "Ihr Galaxy-Anmeldecode: 042917"
    assert "042917" in view["text_body"]
    assert view["to"] == "Grace@example.com"


async def test_same_key_twice_is_one_delivery_answered_200(
    idle: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis
) -> None:
    first = await post_delivery(idle, "same-key-1")
    second = await post_delivery(idle, "same-key-1")

    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json() == first.json()
    assert await redis.llen("mail:queue") == 1


async def test_concurrent_requests_with_one_key_make_one_delivery(
    idle: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis
) -> None:
    responses = await asyncio.gather(*(post_delivery(idle, "racing-key") for _ in range(20)))

    assert sorted(r.status_code for r in responses) == [200] * 19 + [202]
    assert len({r.json()["delivery_id"] for r in responses}) == 1
    assert await redis.llen("mail:queue") == 1


async def test_a_key_reused_for_another_request_is_refused(client: httpx.AsyncClient) -> None:
    await post_delivery(client, "reused-key")
    other = {**LOGIN_CODE, "params": {"code": "999999", "expires_in_minutes": 10}}

    assert_problem(await post_delivery(client, "reused-key", other), 422, "idempotency_key_reused")


async def test_keys_are_per_caller(client: httpx.AsyncClient) -> None:
    mine = await post_delivery(client, "shared-key-1")
    theirs = await client.post(
        "/v1/deliveries",
        json=LOGIN_CODE,
        headers={"Idempotency-Key": "shared-key-1", "Authorization": f"Bearer {TOKENS['lab']}"},
    )

    assert theirs.status_code == 202
    assert theirs.json()["delivery_id"] != mine.json()["delivery_id"]


@pytest.mark.parametrize("key", [None, "short", "x" * 129, "bad key!"])
async def test_a_missing_or_malformed_key_is_422(client: httpx.AsyncClient, key: str | None) -> None:
    headers = {} if key is None else {"Idempotency-Key": key}
    response = await client.post("/v1/deliveries", json=LOGIN_CODE, headers=headers)

    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["field"] == "Idempotency-Key"


async def test_an_unknown_template_is_422_naming_it(client: httpx.AsyncClient) -> None:
    response = await post_delivery(client, "unknown-tpl", {**LOGIN_CODE, "template": "no.such_template"})

    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == ["template"]


async def test_missing_params_are_422_naming_each(client: httpx.AsyncClient) -> None:
    response = await post_delivery(client, "missing-params", {**LOGIN_CODE, "params": {}})

    body = assert_problem(response, 422, "validation_failed")
    assert sorted(e["field"] for e in body["errors"]) == ["params.code", "params.expires_in_minutes"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({**LOGIN_CODE, "to": "not-an-address"}, 422, "validation_failed"),
        ({**LOGIN_CODE, "locale": "xx"}, 422, "validation_failed"),
        ({**LOGIN_CODE, "params": "code"}, 400, "malformed_body"),
        ({**LOGIN_CODE, "extra": 1}, 400, "malformed_body"),
        ({**LOGIN_CODE, "locale": None}, 400, "malformed_body"),
    ],
)
async def test_bad_bodies_are_refused(client: httpx.AsyncClient, body: object, status: int, code: str) -> None:
    assert_problem(await client.post("/v1/deliveries", json=body, headers={"Idempotency-Key": "k" * 8}), status, code)


async def test_a_body_that_is_not_json_is_400_and_not_a_json_type_415(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "k" * 8}
    assert_problem(
        await client.post("/v1/deliveries", content=b"{", headers={**headers, "Content-Type": "application/json"}),
        400,
        "malformed_body",
    )
    assert_problem(await client.post("/v1/deliveries", content=b"x", headers=headers), 415, "unsupported_media_type")


@pytest.mark.parametrize("token", [None, "guessed", "operator-token-7a6b5c"])
async def test_service_routes_need_a_service_token(anonymous: httpx.AsyncClient, token: str | None) -> None:
    headers = {"Idempotency-Key": "k" * 8} | ({"Authorization": f"Bearer {token}"} if token else {})

    assert_problem(await anonymous.post("/v1/deliveries", json=LOGIN_CODE, headers=headers), 401, "unauthorized")
    assert_problem(await anonymous.get(f"/v1/deliveries/d_{'0' * 32}", headers=headers), 401, "unauthorized")


async def test_get_answers_the_delivery_and_its_status(client: httpx.AsyncClient) -> None:
    created = (await post_delivery(client, "get-key-1")).json()
    await until_status(client, created["delivery_id"], "recorded")

    response = await client.get(f"/v1/deliveries/{created['delivery_id']}")

    assert response.status_code == 200
    assert response.json()["status"] == "recorded"
    assert response.json()["attempts"] == 1
    assert "text_body" not in response.json()


async def test_get_unknown_is_404_and_malformed_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"/v1/deliveries/d_{'0' * 32}"), 404, "not_found")
    assert_problem(await client.get("/v1/deliveries/nope"), 422, "validation_failed")


async def test_redis_down_is_503(client: httpx.AsyncClient, server: fakeredis.FakeServer) -> None:
    server.connected = False

    assert_problem(await post_delivery(client, "down-key-1"), 503, "upstream_unavailable")


class RefusingRedis(fakeredis.FakeAsyncRedis):
    """Answers every script run with ``refusal`` (Redis's own error, as redis-py raises it) while it is set."""

    refusal: Exception | None = None

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        if self.refusal is not None and str(args[0]).upper() in {"EVAL", "EVALSHA"}:
            raise self.refusal
        return await super().execute_command(*args, **options)


# What Redis answers a write it does not take: redis-py's class for each error code, with Redis's message.
REFUSALS = {
    "full-disk": ResponseError("MISCONF Errors writing to the AOF file: No space left on device"),
    "maxmemory": OutOfMemoryError("command not allowed when used memory > 'maxmemory'."),
    "replica": ReadOnlyError("You can't write against a read only replica."),
}


@pytest.mark.parametrize("refusal", REFUSALS.values(), ids=REFUSALS)
async def test_a_write_redis_refuses_is_503_and_nothing_is_stored(
    settings: Settings, server: fakeredis.FakeServer, redis: fakeredis.FakeAsyncRedis, refusal: Exception
) -> None:
    store = RefusingRedis(server=server, decode_responses=True)
    transport = httpx.ASGITransport(app=create_app(settings, store))
    async with httpx.AsyncClient(transport=transport, base_url="http://mail", headers=AUTH) as client:
        store.refusal = refusal
        refused = await post_delivery(client, "refused-key-1")
        stored = await redis.keys("mail:*")
        store.refusal = None
        accepted = await post_delivery(client, "refused-key-1")

    assert_problem(refused, 503, "upstream_unavailable")
    assert stored == []
    assert accepted.status_code == 202, accepted.text
