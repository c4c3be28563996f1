"""The mail stub takes direct sends (mail v1 ``/v1/deliveries``) and records them instead of sending; its
operator surface shows them rendered (the lab rendering) with their one ``recorded`` attempt.

What it must answer exactly as Mail Service does is held by tests/unit/doubles/test_parity.py; these
tests cover what only the stub has (recording, the control view, its rendering)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import pytest
from starlette.types import ASGIApp

from galaxy_contracts.http import ApiError, MailClient
from galaxy_contracts.models import Delivery
from tests.unit.stubs.helpers import TOKENS, authorization

LOGIN_CODE: dict[str, object] = {
    "to": "ada@example.com",
    "template": "auth.login_code",
    "locale": "de",
    "params": {"code": "123456", "expires_in_minutes": 10},
}


async def send(client: httpx.AsyncClient, key: str, body: Mapping[str, object] = LOGIN_CODE) -> httpx.Response:
    return await client.post("/v1/deliveries", json=body, headers={"Idempotency-Key": key})


async def test_a_delivery_is_accepted_and_recorded(mail: httpx.AsyncClient, mail_control: httpx.AsyncClient) -> None:
    response = await send(mail, "login:c_1:1")

    assert response.status_code == 202
    delivery = Delivery.model_validate(response.json())
    assert (delivery.status, delivery.to, delivery.template) == ("recorded", "ada@example.com", "auth.login_code")
    recorded = (await mail_control.get("/_control/deliveries")).json()["deliveries"]
    assert recorded == [
        delivery.model_dump(mode="json")
        | {"locale": "de", "params": LOGIN_CODE["params"], "idempotency_key": "login:c_1:1", "caller": "authsession"}
    ]


async def test_the_same_idempotency_key_replays_the_same_delivery(
    mail: httpx.AsyncClient, mail_control: httpx.AsyncClient
) -> None:
    first = await send(mail, "login:c_1:1")
    replay = await send(mail, "login:c_1:1")

    assert replay.status_code == 200
    assert replay.json() == first.json()
    assert len((await mail_control.get("/_control/deliveries")).json()["deliveries"]) == 1


async def test_another_key_is_another_delivery(mail: httpx.AsyncClient) -> None:
    first = await send(mail, "login:c_1:1")
    second = await send(mail, "login:c_2:1")

    assert second.status_code == 202
    assert second.json()["delivery_id"] != first.json()["delivery_id"]


async def test_get_returns_the_delivery(mail: httpx.AsyncClient) -> None:
    created = (await send(mail, "login:c_1:1")).json()

    response = await mail.get(f"/v1/deliveries/{created['delivery_id']}")

    assert response.status_code == 200
    assert response.json() == created


@pytest.mark.parametrize(("delivery_id", "status"), [("d_" + "0" * 32, 404), ("x", 422), ("d_" + "Z" * 32, 422)])
async def test_get_of_a_missing_or_malformed_id_is_a_problem(
    mail: httpx.AsyncClient, delivery_id: str, status: int
) -> None:
    response = await mail.get(f"/v1/deliveries/{delivery_id}")

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("key", [None, "short", "has space in it", "x" * 129])
async def test_a_valid_idempotency_key_is_required(mail: httpx.AsyncClient, key: str | None) -> None:
    headers = {"Idempotency-Key": key} if key is not None else {}

    response = await mail.post("/v1/deliveries", json=LOGIN_CODE, headers=headers)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"to": "nobody"}, 422),
        ({"template": "NoDots"}, 422),
        ({"locale": "xx"}, 422),
        ({"params": {f"p{i}": i for i in range(33)}}, 422),
        ({"cc": "eve@example.com"}, 400),
        ({"params": None}, 400),
    ],
)
async def test_invalid_delivery_requests_are_refused_and_not_recorded(
    mail: httpx.AsyncClient, mail_control: httpx.AsyncClient, change: dict[str, object], status: int
) -> None:
    response = await send(mail, "login:c_1:1", LOGIN_CODE | change)

    assert response.status_code == status
    assert (await mail_control.get("/_control/deliveries")).json()["deliveries"] == []


@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/deliveries"), ("GET", "/v1/deliveries/d_" + "0" * 32)])
async def test_every_operation_needs_a_service_token(mail_app: ASGIApp, method: str, path: str) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mail_app), base_url="http://stub") as client:
        response = await client.request(method, path, json=LOGIN_CODE, headers={"Idempotency-Key": "login:c_1:1"})

    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


async def test_the_typed_contract_client_works_against_the_stub(mail_app: ASGIApp) -> None:
    transport = httpx.ASGITransport(app=mail_app)
    async with MailClient("http://stub", TOKENS["authsession"], transport=transport) as client:
        sent = await client.send(
            "ada@example.com",
            "auth.login_code",
            {"code": "6543", "expires_in_minutes": 10},
            idempotency_key="key-00000001",
        )
        again = await client.get(sent.delivery_id)
        with pytest.raises(ApiError) as missing:
            await client.get("d_" + "f" * 32)

    assert again == sent
    assert missing.value.status == 404


async def test_the_operator_surface_shows_the_delivery_rendered_with_its_attempt(
    mail: httpx.AsyncClient,
) -> None:
    created = (await send(mail, "login:c_1:1")).json()

    view = (
        await mail.get(f"/v1/operator/deliveries/{created['delivery_id']}", headers=authorization("operator"))
    ).json()

    assert view["subject"] == "[mail-stub] auth.login_code"
    assert "code: 123456" in view["text_body"].splitlines()
    assert (view["source"], view["locale"], view["attempts"]) == ("http", "de", 1)
    assert [(a["attempt"], a["outcome"]) for a in view["history"]] == [(1, "recorded")]
    assert view["message_id"] == f"<{created['delivery_id']}@mail-stub.invalid>"


async def test_the_operator_list_is_newest_first_and_filtered(mail: httpx.AsyncClient) -> None:
    first = (await send(mail, "login:c_1:1")).json()
    second = (await send(mail, "login:c_2:1", LOGIN_CODE | {"to": "Bob@Example.com"})).json()
    operator = authorization("operator")

    everything = (await mail.get("/v1/operator/deliveries", headers=operator)).json()["deliveries"]
    bob = (await mail.get("/v1/operator/deliveries?to=bob@example.com", headers=operator)).json()["deliveries"]
    one = (await mail.get("/v1/operator/deliveries?limit=1", headers=operator)).json()["deliveries"]
    none = (await mail.get("/v1/operator/deliveries?status=failed", headers=operator)).json()["deliveries"]

    assert [d["delivery_id"] for d in everything] == [second["delivery_id"], first["delivery_id"]]
    assert [d["delivery_id"] for d in bob] == [second["delivery_id"]]
    assert [d["delivery_id"] for d in one] == [second["delivery_id"]]
    assert none == []


async def test_the_operator_list_of_one_address_is_newest_first_among_others(mail: httpx.AsyncClient) -> None:
    first = (await send(mail, "login:c_1:1")).json()
    await send(mail, "login:c_2:1", LOGIN_CODE | {"to": "bob@example.com"})
    third = (await send(mail, "login:c_3:1", LOGIN_CODE | {"to": "ADA@example.com"})).json()
    operator = authorization("operator")

    ada = (await mail.get("/v1/operator/deliveries?to=Ada@Example.com", headers=operator)).json()["deliveries"]
    newest = (await mail.get("/v1/operator/deliveries?to=ada@example.com&limit=1", headers=operator)).json()

    assert [d["delivery_id"] for d in ada] == [third["delivery_id"], first["delivery_id"]]
    assert [d["delivery_id"] for d in newest["deliveries"]] == [third["delivery_id"]]


async def test_the_same_key_from_another_caller_is_another_delivery(mail_app: ASGIApp) -> None:
    transport = httpx.ASGITransport(app=mail_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stub") as client:
        one = await client.post(
            "/v1/deliveries", json=LOGIN_CODE, headers={"Idempotency-Key": "shared-key", **authorization("authsession")}
        )
        other = await client.post(
            "/v1/deliveries", json=LOGIN_CODE, headers={"Idempotency-Key": "shared-key", **authorization("gateway")}
        )

    assert (one.status_code, other.status_code) == (202, 202)
    assert one.json()["delivery_id"] != other.json()["delivery_id"]
