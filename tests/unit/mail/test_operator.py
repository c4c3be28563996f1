"""The operator surface: rendered deliveries with their attempts, behind the operator credential."""

from __future__ import annotations

import httpx
import pytest

from tests.unit.mail.helpers import LOGIN_CODE, OPERATOR, TOKENS, assert_problem, post_delivery, until_status

LIST = "/v1/operator/deliveries"


@pytest.mark.parametrize("path", [LIST, f"{LIST}/d_{'0' * 32}"])
async def test_without_a_credential_it_is_401(anonymous: httpx.AsyncClient, path: str) -> None:
    assert_problem(await anonymous.get(path), 401, "unauthorized")


@pytest.mark.parametrize("token", [TOKENS["authsession"], TOKENS["lab"], "guessed"])
@pytest.mark.parametrize("path", [LIST, f"{LIST}/d_{'0' * 32}"])
async def test_with_another_credential_it_is_403(anonymous: httpx.AsyncClient, path: str, token: str) -> None:
    assert_problem(await anonymous.get(path, headers={"Authorization": f"Bearer {token}"}), 403, "forbidden")


async def test_a_delivery_with_its_rendered_message_and_attempts(client: httpx.AsyncClient) -> None:
    body = {**LOGIN_CODE, "locale": "de", "params": {**LOGIN_CODE["params"], "display_name": "<script>x</script>"}}
    delivery_id = (await post_delivery(client, "operator-1", body)).json()["delivery_id"]

    view = await until_status(client, delivery_id, "recorded")

    assert view["subject"] == "Ihr Galaxy-Anmeldecode: 123456"
    assert "Hallo <script>x</script>" in view["text_body"]
    assert "Hallo &lt;script&gt;x&lt;/script&gt;" in view["html_body"]
    assert "<script>" not in view["html_body"]
    assert (view["source"], view["locale"], view["intent_id"]) == ("http", "de", None)
    assert [a["outcome"] for a in view["history"]] == ["recorded"]


async def test_the_list_is_newest_first_and_filtered(client: httpx.AsyncClient) -> None:
    ids = []
    for n, to in enumerate(["a@example.com", "b@example.com", "A@Example.com"]):
        response = await post_delivery(client, f"list-key-{n}", {**LOGIN_CODE, "to": to})
        ids.append(response.json()["delivery_id"])
    for delivery_id in ids:
        await until_status(client, delivery_id, "recorded")

    def listed(**filters: str | int) -> list[str]:
        return [d["delivery_id"] for d in filtered[str(filters)]]

    filtered = {}
    for filters in [
        {},
        {"to": "a@example.com"},
        {"to": "A@EXAMPLE.COM", "limit": 1},
        {"status": "failed"},
        {"template": "account.welcome"},
        {"template": "auth.login_code", "status": "recorded"},
    ]:
        response = await client.get(LIST, params=filters, headers=OPERATOR)
        assert response.status_code == 200, response.text
        filtered[str(filters)] = response.json()["deliveries"]

    assert listed() == ids[::-1]
    assert listed(to="a@example.com") == [ids[2], ids[0]]
    assert listed(to="A@EXAMPLE.COM", limit=1) == [ids[2]]
    assert listed(status="failed") == []
    assert listed(template="account.welcome") == []
    assert listed(template="auth.login_code", status="recorded") == ids[::-1]


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=201",
        "limit=ten",
        "status=lost",
        "to=not-an-address",
        "limit=1&limit=2",
        f"template={'t' * 129}",
    ],
)
async def test_bad_filters_are_422(client: httpx.AsyncClient, query: str) -> None:
    body = assert_problem(await client.get(f"{LIST}?{query}", headers=OPERATOR), 422, "validation_failed")
    assert body["errors"]


async def test_unknown_is_404_and_malformed_id_422(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{LIST}/d_{'0' * 32}", headers=OPERATOR), 404, "not_found")
    assert_problem(await client.get(f"{LIST}/d_XYZ", headers=OPERATOR), 422, "validation_failed")
