"""Every operation of contracts/http/user.openapi.yaml, happy paths and their effects."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime

import fakeredis
import httpx
import pytest
from starlette.applications import Starlette

from galaxy.user.main import create_app
from galaxy.user.settings import Settings
from galaxy_contracts import streams
from galaxy_contracts.models import Account, ResolveResponse
from tests.harness.problems import assert_problem
from tests.unit.user.helpers import AUTH, TOKENS, intents

USER_ID = re.compile(r"^u_[0-9a-f]{32}$")


async def resolve(client: httpx.AsyncClient, email: str, **extra: str) -> ResolveResponse:
    response = await client.post("/v1/accounts/resolve", json={"email": email, **extra})
    assert response.status_code == 200, response.text
    return ResolveResponse.model_validate(response.json())


async def test_resolve_creates_an_account_with_defaults(client: httpx.AsyncClient) -> None:
    result = await resolve(client, "Grace.Hopper@Example.COM")

    account = result.account
    assert result.created is True
    assert USER_ID.match(account.user_id)
    assert account.email == "grace.hopper@example.com"
    assert account.display_name == "grace.hopper"
    assert account.locale == "en"
    assert (account.notification_preferences.email_enabled, account.notification_preferences.push_enabled) == (
        True,
        True,
    )
    assert account.blocked is False
    assert account.created_at == account.updated_at


async def test_resolve_takes_the_requested_locale(client: httpx.AsyncClient) -> None:
    result = await resolve(client, "lin@example.com", locale="de")

    assert result.account.locale == "de"


async def test_resolve_finds_the_same_account_whatever_the_case(client: httpx.AsyncClient) -> None:
    first = await resolve(client, "ada@example.com")
    again = await resolve(client, "  ADA@Example.com ", locale="fr")

    assert again.created is False
    assert again.account == first.account  # the existing locale is kept


async def test_different_emails_get_different_ids(client: httpx.AsyncClient) -> None:
    ids = {(await resolve(client, f"user{n}@example.com")).account.user_id for n in range(5)}

    assert len(ids) == 5


async def test_concurrent_resolves_create_exactly_one_account(
    client: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis
) -> None:
    results = await asyncio.gather(*(resolve(client, "race@example.com") for _ in range(30)))

    assert [r.created for r in results].count(True) == 1
    assert len({r.account.user_id for r in results}) == 1
    assert len(await redis.keys("user:account:*")) == 1


async def test_two_service_instances_racing_create_exactly_one_account(
    settings: Settings, server: fakeredis.FakeServer, redis: fakeredis.FakeAsyncRedis
) -> None:
    apps = [create_app(settings, fakeredis.FakeAsyncRedis(server=server, decode_responses=True)) for _ in range(2)]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://user", headers=AUTH) for app in apps
    ]

    results = await asyncio.gather(*(resolve(clients[n % 2], "twin@example.com") for n in range(20)))

    assert [r.created for r in results].count(True) == 1
    assert len({r.account.user_id for r in results}) == 1
    assert len(await redis.keys("user:account:*")) == 1


async def test_get_returns_the_account(client: httpx.AsyncClient, account: dict[str, object]) -> None:
    response = await client.get(f"/v1/accounts/{account['user_id']}")

    assert response.status_code == 200
    assert response.json() == account
    Account.model_validate(response.json())


async def test_get_unknown_account_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v1/accounts/u_{'0' * 32}")

    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("user_id", ["nobody", "u_XYZ", f"u_{'A' * 32}", f"u_{'0' * 31}", f"u_{'0' * 33}"])
async def test_malformed_user_id_is_422_naming_it(client: httpx.AsyncClient, user_id: str) -> None:
    response = await client.get(f"/v1/accounts/{user_id}")

    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"] == [{"field": "user_id", "message": "must match ^u_[0-9a-f]{32}$"}]


async def test_patch_changes_only_the_fields_present(client: httpx.AsyncClient, account: dict[str, object]) -> None:
    path = f"/v1/accounts/{account['user_id']}"

    response = await client.patch(
        path, json={"display_name": "  Ada L.  ", "notification_preferences": {"push_enabled": False}}
    )

    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["display_name"] == "Ada L."
    assert updated["notification_preferences"] == {"email_enabled": True, "push_enabled": False}
    assert updated["locale"] == account["locale"]
    assert updated["email"] == account["email"]
    assert updated["created_at"] == account["created_at"]
    assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(str(account["updated_at"]))
    assert (await client.get(path)).json() == updated


async def test_patch_locale(client: httpx.AsyncClient, account: dict[str, object]) -> None:
    response = await client.patch(f"/v1/accounts/{account['user_id']}", json={"locale": "es"})

    assert response.json()["locale"] == "es"


async def test_a_change_writes_one_schema_valid_intent(
    client: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis, account: dict[str, object]
) -> None:
    await client.patch(
        f"/v1/accounts/{account['user_id']}",
        json={"locale": "fr", "display_name": "ada", "notification_preferences": {"email_enabled": False}},
    )

    [intent] = await intents(redis)
    streams.validate("notification:intents", intent)
    assert intent["type"] == "account.updated"
    assert intent["producer"] == "user"
    assert intent["user_id"] == account["user_id"]
    # display_name "ada" equals the default, so it did not change
    assert streams_params(intent) == {"changed_fields": "locale, notification_preferences.email_enabled"}


async def test_each_change_gets_its_own_intent_id(
    client: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis, account: dict[str, object]
) -> None:
    for locale in ("de", "fr", "en"):
        await client.patch(f"/v1/accounts/{account['user_id']}", json={"locale": locale})

    assert len({i["intent_id"] for i in await intents(redis)}) == 3


async def test_a_no_op_patch_writes_no_intent_and_keeps_updated_at(
    client: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis, account: dict[str, object]
) -> None:
    response = await client.patch(
        f"/v1/accounts/{account['user_id']}",
        json={"display_name": " ada ", "locale": "en", "notification_preferences": {"email_enabled": True}},
    )

    assert response.status_code == 200
    assert response.json() == account
    assert await intents(redis) == []


async def test_patch_unknown_account_is_404(client: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis) -> None:
    response = await client.patch(f"/v1/accounts/u_{'1' * 32}", json={"locale": "de"})

    assert_problem(response, 404, "not_found")
    assert await redis.keys("user:account:*") == []


async def test_block_then_unblock(client: httpx.AsyncClient, account: dict[str, object]) -> None:
    path = f"/v1/accounts/{account['user_id']}"

    blocked = await client.post(f"{path}/block", json={"reason": "abuse report #12"})
    seen = await client.get(path)
    resolved = await resolve(client, "ada@example.com")
    unblocked = await client.post(f"{path}/unblock")

    assert blocked.status_code == 200
    assert blocked.json()["blocked"] is True
    assert seen.json()["blocked"] is True
    assert resolved.account.blocked is True
    assert resolved.created is False
    assert unblocked.status_code == 200
    assert unblocked.json()["blocked"] is False
    assert (await client.get(path)).json()["blocked"] is False


async def test_block_keeps_the_reason_privately(
    client: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis, account: dict[str, object]
) -> None:
    response = await client.post(f"/v1/accounts/{account['user_id']}/block", json={"reason": "  chargeback  "})

    assert "reason" not in response.json()
    assert await redis.hget(f"user:account:{account['user_id']}", "block_reason") == "chargeback"


async def test_block_and_unblock_are_idempotent(client: httpx.AsyncClient, account: dict[str, object]) -> None:
    path = f"/v1/accounts/{account['user_id']}"
    first = (await client.post(f"{path}/block", json={"reason": "one"})).json()
    second = (await client.post(f"{path}/block", json={"reason": "two"})).json()
    await client.post(f"{path}/unblock")
    third = (await client.post(f"{path}/unblock")).json()

    assert first == second
    assert third["blocked"] is False


async def test_blocking_writes_no_intent(
    client: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis, account: dict[str, object]
) -> None:
    await client.post(f"/v1/accounts/{account['user_id']}/block", json={"reason": "x"})

    assert await intents(redis) == []


@pytest.mark.parametrize("action", ["block", "unblock"])
async def test_block_unknown_account_is_404(client: httpx.AsyncClient, action: str) -> None:
    response = await client.post(f"/v1/accounts/u_{'2' * 32}/{action}", json={"reason": "x"})

    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("caller", sorted(TOKENS))
async def test_any_callers_token_is_accepted(app: Starlette, account: dict[str, object], caller: str) -> None:
    headers = {"Authorization": f"Bearer {TOKENS[caller]}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://user") as anyone:
        response = await anyone.get(f"/v1/accounts/{account['user_id']}", headers=headers)

    assert response.status_code == 200


def streams_params(intent: dict[str, str]) -> dict[str, object]:
    params: dict[str, object] = json.loads(intent["params"])
    return params
