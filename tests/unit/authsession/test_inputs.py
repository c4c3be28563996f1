"""Every class of bad input gets its problem+json, never a crash."""

from __future__ import annotations

import httpx
import pytest

from galaxy.common.problems import MAX_BODY_BYTES
from tests.harness.problems import assert_problem
from tests.unit.authsession.helpers import SERVICE_TOKENS

CHALLENGE = "/v1/challenges"
CONFIRM = f"/v1/challenges/c_{'a' * 32}/confirm"
SESSION = f"/v1/sessions/s_{'a' * 32}"
PROTECTED = [("POST", CHALLENGE), ("POST", CONFIRM), ("GET", SESSION), ("POST", f"{SESSION}/revoke")]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic Z2F0ZXdheTp4", "Bearer "])
async def test_protected_routes_refuse_missing_or_wrong_service_token(
    anonymous: httpx.AsyncClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await anonymous.request(method, path, headers=headers, json={"email": "a@example.com"})
    assert_problem(response, 401, "unauthorized")


@pytest.mark.parametrize("caller", sorted(SERVICE_TOKENS))
async def test_any_boundary_caller_token_is_accepted(anonymous: httpx.AsyncClient, caller: str) -> None:
    headers = {"Authorization": f"Bearer {SERVICE_TOKENS[caller]}"}
    assert (await anonymous.get(SESSION, headers=headers)).status_code == 404


@pytest.mark.parametrize(
    ("path", "content", "status", "code"),
    [
        (CHALLENGE, b"{not json", 400, "malformed_body"),
        (CHALLENGE, b"[]", 400, "malformed_body"),
        (CHALLENGE, b'"ada@example.com"', 400, "malformed_body"),
        (CHALLENGE, b'{"email": "ada@example.com", "admin": true}', 400, "malformed_body"),
        (CHALLENGE, b'{"email": 42}', 400, "malformed_body"),
        (CHALLENGE, b'{"email": null}', 400, "malformed_body"),
        (CHALLENGE, b'{"email": "ada@example.com", "locale": null}', 400, "malformed_body"),
        (CHALLENGE, b'{"email": "ada@example.com", "locale": 1}', 400, "malformed_body"),
        (CHALLENGE, b"{}", 422, "validation_failed"),
        (CHALLENGE, b'{"email": "not-an-email"}', 422, "validation_failed"),
        (CHALLENGE, b'{"email": "ada@example.com", "locale": "xx"}', 422, "validation_failed"),
        (CHALLENGE, b'{"email": "' + b"a" * 250 + b'@example.com"}', 422, "validation_failed"),
        (CONFIRM, b"{not json", 400, "malformed_body"),
        (CONFIRM, b'{"code": 123456}', 400, "malformed_body"),
        (CONFIRM, b'{"code": "123456", "extra": 1}', 400, "malformed_body"),
        (CONFIRM, b'{"code": "12345"}', 422, "validation_failed"),
        (CONFIRM, b'{"code": "abcdef"}', 422, "validation_failed"),
        (CONFIRM, b'{"code": "1234567"}', 422, "validation_failed"),
        (CONFIRM, b"{}", 422, "validation_failed"),
    ],
)
async def test_bad_bodies(client: httpx.AsyncClient, path: str, content: bytes, status: int, code: str) -> None:
    response = await client.post(path, content=content, headers={"content-type": "application/json"})
    body = assert_problem(response, status, code)
    if status == 422:
        assert body["errors"]
        assert all({"field", "message"} <= set(e) for e in body["errors"])


async def test_invalid_field_is_named(client: httpx.AsyncClient) -> None:
    response = await client.post(CHALLENGE, json={"email": "ada@example.com", "locale": "xx"})
    assert [e["field"] for e in response.json()["errors"]] == ["locale"]


@pytest.mark.parametrize("path", [CHALLENGE, CONFIRM])
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_non_json_body_is_415(client: httpx.AsyncClient, path: str, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(path, content=b'{"code": "123456"}', headers=headers)
    assert_problem(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("path", [CHALLENGE, CONFIRM])
async def test_oversized_body_is_413(client: httpx.AsyncClient, path: str) -> None:
    content = b'{"email": "' + b"a" * (MAX_BODY_BYTES + 1) + b'"}'
    response = await client.post(path, content=content, headers={"content-type": "application/json"})
    assert_problem(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("POST", "/v1/challenges/c_123/confirm", "challenge_id"),
        ("POST", f"/v1/challenges/C_{'A' * 32}/confirm", "challenge_id"),
        ("GET", "/v1/sessions/s_nope", "session_id"),
        ("POST", f"/v1/sessions/u_{'a' * 32}/revoke", "session_id"),
    ],
)
async def test_malformed_ids_in_the_path_are_422(client: httpx.AsyncClient, method: str, path: str, field: str) -> None:
    response = await client.request(method, path, json={"code": "123456"})
    body = assert_problem(response, 422, "validation_failed")
    assert [e["field"] for e in body["errors"]] == [field]


@pytest.mark.parametrize("path", ["/", "/v1", "/v1/challenge", "/v2/keys", "/v1/sessions"])
async def test_unknown_route_is_404_problem(client: httpx.AsyncClient, path: str) -> None:
    assert_problem(await client.get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"), [("GET", CHALLENGE), ("DELETE", SESSION), ("POST", "/v1/keys"), ("GET", CONFIRM)]
)
async def test_wrong_method_is_405_problem(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path)
    assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"]
