"""The user stub speaks user v1 (contracts/http/user.openapi.yaml) as authsession and the gateway use it."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.types import ASGIApp

from galaxy_contracts.http import ApiError, UserClient
from galaxy_contracts.models import Account, AccountUpdate, ResolveResponse
from tests.unit.stubs.helpers import TOKENS

UNKNOWN_ID = "u_" + "0" * 32


async def resolve(client: httpx.AsyncClient, email: str, **extra: str) -> ResolveResponse:
    response = await client.post("/v1/accounts/resolve", json={"email": email, **extra})
    assert response.status_code == 200, response.text
    return ResolveResponse.model_validate(response.json())


async def test_resolve_creates_a_new_account_with_defaults(user: httpx.AsyncClient) -> None:
    result = await resolve(user, " Ada.L@Example.COM ", locale="de")

    assert result.created is True
    assert result.account.email == "ada.l@example.com"
    assert result.account.display_name == "ada.l"
    assert result.account.locale == "de"
    assert result.account.blocked is False
    assert result.account.notification_preferences.email_enabled is True


async def test_resolve_finds_a_known_email_case_insensitively(user: httpx.AsyncClient) -> None:
    first = await resolve(user, "ada@example.com")
    again = await resolve(user, "ADA@Example.com")

    assert again.created is False
    assert again.account.user_id == first.account.user_id


async def test_concurrent_resolves_of_a_new_email_create_exactly_one_account(user: httpx.AsyncClient) -> None:
    results = await asyncio.gather(*(resolve(user, "race@example.com") for _ in range(20)))

    assert sum(r.created for r in results) == 1
    assert len({r.account.user_id for r in results}) == 1


async def test_get_returns_the_account(user: httpx.AsyncClient) -> None:
    created = await resolve(user, "ada@example.com")

    response = await user.get(f"/v1/accounts/{created.account.user_id}")

    assert response.status_code == 200
    assert Account.model_validate(response.json()) == created.account


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        (f"/v1/accounts/{UNKNOWN_ID}", 404, "not_found"),
        ("/v1/accounts/not-an-id", 422, "validation_failed"),
    ],
)
async def test_get_of_a_missing_or_malformed_id_is_a_problem(
    user: httpx.AsyncClient, path: str, status: int, code: str
) -> None:
    response = await user.get(path)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


async def test_patch_changes_only_the_fields_present(user: httpx.AsyncClient) -> None:
    account = (await resolve(user, "ada@example.com")).account

    response = await user.patch(
        f"/v1/accounts/{account.user_id}",
        json={"display_name": "  Ada L.  ", "notification_preferences": {"push_enabled": False}},
    )

    assert response.status_code == 200, response.text
    updated = Account.model_validate(response.json())
    assert updated.display_name == "Ada L."
    assert updated.locale == account.locale
    assert updated.notification_preferences.model_dump() == {"email_enabled": True, "push_enabled": False}
    assert updated.updated_at > account.updated_at
    assert (await user.get(f"/v1/accounts/{account.user_id}")).json() == response.json()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "validation_failed"),
        ({"notification_preferences": {}}, 422, "validation_failed"),
        ({"display_name": "   "}, 422, "validation_failed"),
        ({"display_name": "bell\x07"}, 422, "validation_failed"),
        ({"display_name": "x" * 65}, 422, "validation_failed"),
        ({"locale": "xx"}, 422, "validation_failed"),
        ({"display_name": None}, 400, "malformed_body"),
        ({"nickname": "ada"}, 400, "malformed_body"),
        ({"display_name": 7}, 400, "malformed_body"),
        ({"notification_preferences": {"push_enabled": "false"}}, 400, "malformed_body"),
    ],
)
async def test_patch_refuses_invalid_bodies(user: httpx.AsyncClient, body: object, status: int, code: str) -> None:
    account = (await resolve(user, "ada@example.com")).account

    response = await user.patch(f"/v1/accounts/{account.user_id}", json=body)

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert (await user.get(f"/v1/accounts/{account.user_id}")).json() == account.model_dump(mode="json")


async def test_the_resolve_path_is_not_an_account_id(user: httpx.AsyncClient) -> None:
    response = await user.get("/v1/accounts/resolve")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_block_and_unblock(user: httpx.AsyncClient) -> None:
    user_id = (await resolve(user, "ada@example.com")).account.user_id

    blocked = await user.post(f"/v1/accounts/{user_id}/block", json={"reason": "abuse"})
    resolved = await resolve(user, "ada@example.com")
    unblocked = await user.post(f"/v1/accounts/{user_id}/unblock")

    assert blocked.json()["blocked"] is True
    assert resolved.account.blocked is True
    assert unblocked.json()["blocked"] is False


async def test_block_needs_a_reason(user: httpx.AsyncClient) -> None:
    user_id = (await resolve(user, "ada@example.com")).account.user_id

    response = await user.post(f"/v1/accounts/{user_id}/block", json={"reason": ""})

    assert response.status_code == 422
    assert (await user.get(f"/v1/accounts/{user_id}")).json()["blocked"] is False


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b"{not json", {"content-type": "application/json"}, 400, "malformed_body"),
        (b'{"email": "a@example.com"}', {"content-type": "text/plain"}, 415, "unsupported_media_type"),
        (b'{"email": "not-an-email"}', {"content-type": "application/json"}, 422, "validation_failed"),
        (b'{"email": "a@example.com", "locale": null}', {"content-type": "application/json"}, 400, "malformed_body"),
    ],
)
async def test_resolve_refuses_bad_requests(
    user: httpx.AsyncClient, content: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    response = await user.post("/v1/accounts/resolve", content=content, headers=headers)

    assert (response.status_code, response.json()["code"]) == (status, code)


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKENS['authsession']}"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/accounts/resolve"),
        ("GET", f"/v1/accounts/{UNKNOWN_ID}"),
        ("PATCH", f"/v1/accounts/{UNKNOWN_ID}"),
        ("POST", f"/v1/accounts/{UNKNOWN_ID}/block"),
        ("POST", f"/v1/accounts/{UNKNOWN_ID}/unblock"),
    ],
)
async def test_every_operation_needs_a_service_token(
    anonymous_user: httpx.AsyncClient, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = await anonymous_user.request(method, path, json={"email": "a@example.com"}, headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize("caller", ["gateway", "authsession", "lab"])
async def test_any_service_token_of_the_boundary_is_accepted(anonymous_user: httpx.AsyncClient, caller: str) -> None:
    headers = {"Authorization": f"Bearer {TOKENS[caller]}"}

    response = await anonymous_user.post("/v1/accounts/resolve", json={"email": "a@example.com"}, headers=headers)

    assert response.status_code == 200


async def test_the_typed_contract_client_works_against_the_stub(user_app: ASGIApp) -> None:
    async with UserClient("http://stub", TOKENS["gateway"], transport=httpx.ASGITransport(app=user_app)) as client:
        created = await client.resolve("grace@example.com", locale="fr")
        updated = await client.update(created.account.user_id, AccountUpdate(locale="es"))
        blocked = await client.block(created.account.user_id, "test")
        with pytest.raises(ApiError) as missing:
            await client.get(UNKNOWN_ID)

    assert created.created
    assert updated.locale == "es"
    assert blocked.blocked
    assert missing.value.status == 404
