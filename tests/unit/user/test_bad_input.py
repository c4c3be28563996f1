"""Every class of bad input gets its problem+json status, and never a stack trace or a secret."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import fakeredis
import httpx
import pytest

from galaxy.user.main import create_app
from galaxy.user.settings import Settings
from tests.harness.problems import assert_problem
from tests.unit.user.helpers import AUTH, TOKENS, intents

UNKNOWN = f"u_{'0' * 32}"
# (method, path template, a valid body or None); {id} is an existing account
ROUTES = [
    ("POST", "/v1/accounts/resolve", {"email": "someone@example.com"}),
    ("GET", "/v1/accounts/{id}", None),
    ("PATCH", "/v1/accounts/{id}", {"locale": "de"}),
    ("POST", "/v1/accounts/{id}/block", {"reason": "spam"}),
    ("POST", "/v1/accounts/{id}/unblock", None),
]
BODY_ROUTES = [route for route in ROUTES if route[2] is not None]


def _path(template: str, account: dict[str, object]) -> str:
    return template.format(id=account["user_id"])


@pytest.mark.parametrize(("method", "template", "body"), ROUTES)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKENS['lab']}", "Bearer ", f"Bearer {TOKENS['lab']}x"],
    ids=["missing", "wrong", "wrong-scheme", "empty", "prefix-of-a-token"],
)
async def test_without_a_valid_service_token_every_route_is_401(
    anonymous: httpx.AsyncClient,
    account: dict[str, object],
    method: str,
    template: str,
    body: dict[str, object] | None,
    authorization: str | None,
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = await anonymous.request(method, _path(template, account), json=body, headers=headers)

    problem = assert_problem(response, 401, "unauthorized")
    assert not any(token in response.text for token in TOKENS.values())
    assert "Traceback" not in str(problem)


@pytest.mark.parametrize(
    "raw",
    [b"{", b"not json", b'{"email": "a@b.c",}', b"\xff\xfe", b"[" * 5000, b"", b"null"],
    ids=["truncated", "text", "trailing-comma", "not-utf8", "deeply-nested", "empty", "null"],
)
@pytest.mark.parametrize(("method", "template", "body"), BODY_ROUTES)
async def test_malformed_json_is_400(
    client: httpx.AsyncClient, account: dict[str, object], method: str, template: str, body: object, raw: bytes
) -> None:
    response = await client.request(
        method, _path(template, account), content=raw, headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 400, "malformed_body")


@pytest.mark.parametrize("document", [[], "text", 3, True], ids=["array", "string", "number", "bool"])
@pytest.mark.parametrize(("method", "template", "body"), BODY_ROUTES)
async def test_a_body_that_is_not_an_object_is_400(
    client: httpx.AsyncClient, account: dict[str, object], method: str, template: str, body: object, document: object
) -> None:
    response = await client.request(method, _path(template, account), json=document)

    assert_problem(response, 400, "malformed_body")


@pytest.mark.parametrize(("method", "template", "body"), BODY_ROUTES)
async def test_unknown_fields_are_400(
    client: httpx.AsyncClient, account: dict[str, object], method: str, template: str, body: dict[str, object]
) -> None:
    response = await client.request(method, _path(template, account), json={**body, "is_admin": True})

    assert_problem(response, 400, "malformed_body")


@pytest.mark.parametrize(
    ("template", "body"),
    [
        ("/v1/accounts/resolve", {"email": 42}),
        ("/v1/accounts/resolve", {"email": None}),
        ("/v1/accounts/resolve", {"email": "a@example.com", "locale": None}),
        ("/v1/accounts/resolve", {"email": ["a@example.com"]}),
        ("{id}", {"display_name": 7}),
        ("{id}", {"display_name": None}),
        ("{id}", {"locale": None}),
        ("{id}", {"locale": ["en"]}),
        ("{id}", {"notification_preferences": None}),
        ("{id}", {"notification_preferences": True}),
        ("{id}", {"notification_preferences": {"email_enabled": "true"}}),
        ("{id}", {"notification_preferences": {"email_enabled": 1}}),
        ("{id}", {"notification_preferences": {"push_enabled": None}}),
        ("{id}", {"notification_preferences": {"push_enabled": False, "sms_enabled": True}}),
        ("{id}/block", {"reason": 12}),
        ("{id}/block", {"reason": None}),
    ],
)
async def test_wrong_types_and_nulls_are_400(
    client: httpx.AsyncClient,
    redis: fakeredis.FakeAsyncRedis,
    account: dict[str, object],
    template: str,
    body: dict[str, object],
) -> None:
    method = "PATCH" if template == "{id}" else "POST"
    path = template if template.startswith("/") else f"/v1/accounts/{template}"

    response = await client.request(method, _path(path, account), json=body)

    assert_problem(response, 400, "malformed_body")
    assert await intents(redis) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "two@@example.com"}, "email"),
        ({"email": f"{'a' * 250}@example.com"}, "email"),
        ({"email": "a@example.com", "locale": "xx"}, "locale"),
    ],
)
async def test_resolve_with_invalid_values_is_422_naming_the_field(
    client: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis, body: dict[str, object], field: str
) -> None:
    response = await client.post("/v1/accounts/resolve", json=body)

    problem = assert_problem(response, 422, "validation_failed")
    assert [error["field"] for error in problem["errors"]] == [field]
    assert await redis.keys("user:*") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": "x" * 65}, "display_name"),
        ({"display_name": "bell\x07"}, "display_name"),
        ({"display_name": "new\nline"}, "display_name"),
        ({"display_name": "nul\x00"}, "display_name"),
        ({"locale": "pt"}, "locale"),
        ({"locale": "EN"}, "locale"),
        ({"notification_preferences": {}}, "notification_preferences"),
    ],
)
async def test_patch_with_invalid_values_is_422_naming_the_field(
    client: httpx.AsyncClient,
    redis: fakeredis.FakeAsyncRedis,
    account: dict[str, object],
    body: dict[str, object],
    field: str,
) -> None:
    response = await client.patch(f"/v1/accounts/{account['user_id']}", json=body)

    problem = assert_problem(response, 422, "validation_failed")
    assert [error["field"] for error in problem["errors"]] == [field]
    assert (await client.get(f"/v1/accounts/{account['user_id']}")).json() == account
    assert await intents(redis) == []


@pytest.mark.parametrize(
    "body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "r" * 201}, {"reason": "tab\there"}]
)
async def test_block_with_invalid_reason_is_422(
    client: httpx.AsyncClient, account: dict[str, object], body: dict[str, object]
) -> None:
    response = await client.post(f"/v1/accounts/{account['user_id']}/block", json=body)

    problem = assert_problem(response, 422, "validation_failed")
    assert [error["field"] for error in problem["errors"]] == ["reason"]
    assert (await client.get(f"/v1/accounts/{account['user_id']}")).json()["blocked"] is False


@pytest.mark.parametrize(("method", "suffix", "body"), [("PATCH", "", {"locale": "de"}), ("POST", "/unblock", None)])
async def test_malformed_id_is_422_on_every_account_route(
    client: httpx.AsyncClient, method: str, suffix: str, body: object
) -> None:
    response = await client.request(method, f"/v1/accounts/U_{'0' * 32}{suffix}", json=body)

    problem = assert_problem(response, 422, "validation_failed")
    assert problem["errors"][0]["field"] == "user_id"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/xml"])
@pytest.mark.parametrize(("method", "template", "body"), BODY_ROUTES)
async def test_a_body_that_is_not_json_is_415(
    client: httpx.AsyncClient,
    account: dict[str, object],
    method: str,
    template: str,
    body: dict[str, object],
    content_type: str | None,
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}

    response = await client.request(method, _path(template, account), content=json.dumps(body), headers=headers)

    assert_problem(response, 415, "unsupported_media_type")


async def test_json_with_a_charset_parameter_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/accounts/resolve",
        content=b'{"email": "cs@example.com"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 200


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(("method", "template", "body"), BODY_ROUTES)
async def test_a_body_over_64_kib_is_413(
    client: httpx.AsyncClient,
    account: dict[str, object],
    method: str,
    template: str,
    body: dict[str, object],
    chunked: bool,
) -> None:
    big = json.dumps({**body, "padding": "x" * 70_000}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    response = await client.request(
        method,
        _path(template, account),
        content=chunks() if chunked else big,
        headers={"Content-Type": "application/json"},
    )

    assert_problem(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    "path", ["/", "/v1/accounts", "/v1/accounts/resolve/extra", f"/v1/accounts/{UNKNOWN}/delete", "/v2/accounts"]
)
async def test_unknown_route_is_404_problem(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)

    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", f"/v1/accounts/{UNKNOWN}", {"GET", "HEAD", "PATCH"}),
        ("PUT", f"/v1/accounts/{UNKNOWN}", {"GET", "HEAD", "PATCH"}),
        ("GET", f"/v1/accounts/{UNKNOWN}/block", {"POST"}),
        ("DELETE", f"/v1/accounts/{UNKNOWN}/unblock", {"POST"}),
        ("PUT", "/v1/accounts/resolve", {"POST"}),
        ("GET", "/v1/accounts/resolve", {"POST"}),
        ("PATCH", "/v1/accounts/resolve", {"POST"}),
    ],
)
async def test_wrong_method_is_405_problem_with_allow(
    client: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    response = await client.request(method, path)

    assert_problem(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].split(", ")) == allowed


async def test_an_unexpected_error_is_a_500_problem_without_details(
    settings: Settings, redis: fakeredis.FakeAsyncRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError(f"disk on fire; token={TOKENS['lab']}")

    monkeypatch.setattr(redis, "hgetall", broken)
    transport = httpx.ASGITransport(app=create_app(settings, redis), raise_app_exceptions=False)

    async with httpx.AsyncClient(transport=transport, base_url="http://user", headers=AUTH) as client:
        response = await client.get(f"/v1/accounts/{UNKNOWN}")

    assert_problem(response, 500, "internal_error")
    assert "disk on fire" not in response.text
    assert "Traceback" not in response.text
    assert TOKENS["lab"] not in response.text


async def test_redis_down_is_a_503_problem(
    client: httpx.AsyncClient, server: fakeredis.FakeServer, account: dict[str, object]
) -> None:
    server.connected = False

    responses = [
        await client.get(f"/v1/accounts/{account['user_id']}"),
        await client.post("/v1/accounts/resolve", json={"email": "late@example.com"}),
        await client.patch(f"/v1/accounts/{account['user_id']}", json={"locale": "de"}),
    ]

    for response in responses:
        assert_problem(response, 503, "upstream_unavailable")


async def test_logs_name_no_token_and_no_email(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    created = (await client.post("/v1/accounts/resolve", json={"email": "private@example.com"})).json()["account"]
    await client.patch(f"/v1/accounts/{created['user_id']}", json={"display_name": "P"})
    await client.post(f"/v1/accounts/{created['user_id']}/block", json={"reason": "r"})
    await anonymous.get(f"/v1/accounts/{created['user_id']}", headers={"Authorization": "Bearer guessed-secret"})

    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert created["user_id"] in logged  # the service does log its actions
    for secret in [*TOKENS.values(), "guessed-secret", "private@example.com"]:
        assert secret not in logged
