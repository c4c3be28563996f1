"""The control API (``/_control/``): recording, scripting, outages, seeding, reset, lab token."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from galaxylab.stubs.domain.control import MAX_DELAY_SECONDS
from galaxylab.stubs.main import create_app
from galaxylab.stubs.settings import Kind
from tests.unit.stubs.helpers import TOKENS, stub_app

COMMON = [
    ("GET", "/_control/status"),
    ("GET", "/_control/requests"),
    ("DELETE", "/_control/requests"),
    ("GET", "/_control/responses"),
    ("POST", "/_control/responses"),
    ("DELETE", "/_control/responses"),
    ("POST", "/_control/down"),
    ("POST", "/_control/up"),
    ("POST", "/_control/reset"),
]
UNKNOWN_ID = "u_" + "0" * 32


async def requests_seen(control: httpx.AsyncClient, path_prefix: str | None = None) -> list[dict[str, object]]:
    params = {"path_prefix": path_prefix} if path_prefix else {}
    response = await control.get("/_control/requests", params=params)
    assert response.status_code == 200
    seen: list[dict[str, object]] = response.json()["requests"]
    return seen


async def script(control: httpx.AsyncClient, **spec: object) -> dict[str, object]:
    response = await control.post("/_control/responses", json=spec)
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


async def resolve(client: httpx.AsyncClient, email: str = "ada@example.com") -> httpx.Response:
    return await client.post("/v1/accounts/resolve", json={"email": email})


# --- lab token ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "method", "path"),
    [("user", m, p) for m, p in [*COMMON, ("GET", "/_control/accounts"), ("POST", "/_control/accounts")]]
    + [("mail", m, p) for m, p in [*COMMON, ("GET", "/_control/deliveries")]],
)
@pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 401), ("Bearer not-a-token", 401), (f"Bearer {TOKENS['authsession']}", 403)],
)
async def test_control_needs_the_lab_token(
    kind: Kind, method: str, path: str, authorization: str | None, status: int
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    transport = httpx.ASGITransport(app=stub_app(kind))
    async with httpx.AsyncClient(transport=transport, base_url="http://stub") as client:
        response = await client.request(method, path, headers=headers, json={})

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_refused_control_call_changes_nothing(user: httpx.AsyncClient) -> None:
    refused = await user.post("/_control/down")

    assert refused.status_code == 403

    assert (await resolve(user)).status_code == 200


def test_the_stub_refuses_to_start_without_a_lab_token() -> None:
    with pytest.raises(ValueError, match="lab"):
        create_app("user", {"authsession": "x"})


# --- recorded requests ---------------------------------------------------------------


async def test_requests_are_recorded_newest_last(user: httpx.AsyncClient, user_control: httpx.AsyncClient) -> None:
    await resolve(user, "first@example.com")
    await user.get(f"/v1/accounts/{UNKNOWN_ID}", params={"view": "full"})

    first, second = await requests_seen(user_control)

    assert first["method"] == "POST"
    assert first["path"] == "/v1/accounts/resolve"
    assert first["body"] == {"email": "first@example.com"}
    assert first["caller"] == "authsession"
    assert first["status"] == 200
    assert second["path"] == f"/v1/accounts/{UNKNOWN_ID}"
    assert second["query"] == {"view": "full"}
    assert second["status"] == 404
    assert first["seq"] < second["seq"]  # type: ignore[operator]
    assert first["time"] <= second["time"]  # type: ignore[operator]


async def test_recorded_requests_never_contain_the_authorization_value(
    user: httpx.AsyncClient, user_control: httpx.AsyncClient
) -> None:
    await resolve(user)
    await user.get(f"/v1/accounts/{UNKNOWN_ID}", headers={"Authorization": "Bearer some-unknown-secret"})

    raw = (await user_control.get("/_control/requests")).text

    assert TOKENS["authsession"] not in raw
    assert "some-unknown-secret" not in raw
    assert "authorization" not in raw.lower()
    assert [r["caller"] for r in json.loads(raw)["requests"]] == ["authsession", None]


async def test_requests_are_filtered_by_path_prefix(mail: httpx.AsyncClient, mail_control: httpx.AsyncClient) -> None:
    await mail.get("/v1/deliveries/d_" + "0" * 32)
    await mail.post("/v1/deliveries", json={}, headers={"Idempotency-Key": "key-00000001"})

    only_posts = await requests_seen(mail_control, "/v1/deliveries")
    only_gets = await requests_seen(mail_control, "/v1/deliveries/")

    assert [r["method"] for r in only_posts] == ["GET", "POST"]
    assert [r["method"] for r in only_gets] == ["GET"]
    assert only_posts[1]["headers"]["idempotency-key"] == "key-00000001"  # type: ignore[index]


async def test_control_calls_are_not_recorded_and_clear_empties(
    user: httpx.AsyncClient, user_control: httpx.AsyncClient
) -> None:
    await resolve(user)
    assert len(await requests_seen(user_control)) == 1

    cleared = await user_control.delete("/_control/requests")

    assert cleared.status_code == 204
    assert await requests_seen(user_control) == []


# --- scripted responses ----------------------------------------------------------------


async def test_a_scripted_response_is_served_n_times_then_the_default_resumes(
    user: httpx.AsyncClient, user_control: httpx.AsyncClient
) -> None:
    await script(
        user_control, method="post", path="/v1/accounts/resolve", times=2, status=503, body={"code": "overloaded"}
    )

    answers = [await resolve(user) for _ in range(3)]

    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].json() == {"code": "overloaded"}
    assert answers[0].headers["content-type"] == "application/problem+json"
    assert (await user_control.get("/_control/responses")).json()["responses"] == []


async def test_a_script_applies_only_to_its_method_and_whole_path(
    user: httpx.AsyncClient, user_control: httpx.AsyncClient
) -> None:
    await script(user_control, method="GET", path=r"/v1/accounts/u_[0-9a-f]{32}", status=500)

    other_method = await resolve(user)
    longer_path = await user.post(f"/v1/accounts/{UNKNOWN_ID}/unblock")
    matched = await user.get(f"/v1/accounts/{UNKNOWN_ID}")

    assert (other_method.status_code, longer_path.status_code, matched.status_code) == (200, 404, 500)
    assert matched.json()["code"] == "scripted"


async def test_scripts_are_consumed_in_the_order_they_were_added(
    user: httpx.AsyncClient, user_control: httpx.AsyncClient
) -> None:
    await script(user_control, method="POST", path=".*", status=500)
    await script(user_control, method="POST", path="/v1/accounts/resolve", status=429)

    assert [(await resolve(user)).status_code for _ in range(3)] == [500, 429, 200]


async def test_a_scripted_success_body_is_served_as_json(
    user: httpx.AsyncClient, user_control: httpx.AsyncClient
) -> None:
    await script(user_control, method="GET", path=".*", status=200, body={"anything": [1, 2]}, headers={"x-stub": "1"})

    response = await user.get(f"/v1/accounts/{UNKNOWN_ID}")

    assert response.json() == {"anything": [1, 2]}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-stub"] == "1"


async def test_a_delay_without_status_delays_the_default_answer(
    user: httpx.AsyncClient, user_control: httpx.AsyncClient
) -> None:
    await script(user_control, method="POST", path="/v1/accounts/resolve", delay_seconds=0.2)

    started = time.monotonic()
    response = await resolve(user)

    assert time.monotonic() - started >= 0.2
    assert response.status_code == 200
    assert response.json()["created"] is True


@pytest.mark.parametrize(
    "spec",
    [
        {"method": "GET", "path": ".*", "delay_seconds": MAX_DELAY_SECONDS + 1},
        {"method": "GET", "path": ".*", "delay_seconds": -1},
        {"method": "GET", "path": "(unclosed"},
        {"method": "GET", "path": ".*", "times": 0},
        {"method": "GET", "path": ".*", "status": 99},
        {"method": "G E T", "path": ".*"},
    ],
)
async def test_invalid_scripts_are_refused(user_control: httpx.AsyncClient, spec: dict[str, object]) -> None:
    response = await user_control.post("/_control/responses", json=spec)

    assert response.status_code == 422
    assert (await user_control.get("/_control/responses")).json()["responses"] == []


async def test_pending_scripts_are_listed_and_cleared(user_control: httpx.AsyncClient) -> None:
    created = await script(user_control, method="GET", path=".*", status=500, times=3)

    listed = (await user_control.get("/_control/responses")).json()["responses"]
    cleared = await user_control.delete("/_control/responses")

    assert listed == [created]
    assert created["remaining"] == 3
    assert cleared.status_code == 204
    assert (await user_control.get("/_control/responses")).json()["responses"] == []


# --- outages -------------------------------------------------------------------------------


async def test_down_answers_503_upstream_unavailable_until_up(
    user: httpx.AsyncClient, user_control: httpx.AsyncClient
) -> None:
    down = await user_control.post("/_control/down")
    during = await resolve(user)
    up = await user_control.post("/_control/up")
    after = await resolve(user)

    assert down.json()["outage"] == "unavailable"
    assert during.status_code == 503
    assert during.headers["content-type"] == "application/problem+json"
    assert during.json()["code"] == "upstream_unavailable"
    assert up.json()["outage"] is None
    assert after.status_code == 200
    assert after.json()["created"] is True
    assert [r["status"] for r in await requests_seen(user_control)] == [503, 200]


async def test_down_leaves_the_control_api_working(user_control: httpx.AsyncClient) -> None:
    await user_control.post("/_control/down")

    assert (await user_control.get("/_control/status")).status_code == 200


async def test_down_in_reset_mode_drops_the_connection(
    user: httpx.AsyncClient, user_control: httpx.AsyncClient
) -> None:
    """In process there is no socket to reset: the ASGI app raises (test_process.py covers TCP)."""
    await user_control.post("/_control/down", json={"mode": "reset"})

    with pytest.raises(ConnectionResetError):
        await resolve(user)

    seen = await requests_seen(user_control)
    assert [(r["path"], r["status"]) for r in seen] == [("/v1/accounts/resolve", None)]


async def test_down_refuses_an_unknown_mode(user_control: httpx.AsyncClient) -> None:
    response = await user_control.post("/_control/down", json={"mode": "sideways"})

    assert response.status_code == 422
    assert (await user_control.get("/_control/status")).json()["outage"] is None


# --- seeding, listing, reset ------------------------------------------------------------------


async def test_a_seeded_blocked_account_is_what_resolve_and_get_return(
    user: httpx.AsyncClient, user_control: httpx.AsyncClient
) -> None:
    seeded = await user_control.post(
        "/_control/accounts", json={"email": "eve@example.com", "blocked": True, "display_name": "Eve", "locale": "fr"}
    )

    resolved = (await resolve(user, "eve@example.com")).json()
    fetched = (await user.get(f"/v1/accounts/{seeded.json()['user_id']}")).json()

    assert seeded.status_code == 201
    assert resolved == {"account": seeded.json(), "created": False}
    assert fetched == seeded.json()
    assert fetched["blocked"] is True


async def test_seeding_with_a_chosen_id(user: httpx.AsyncClient, user_control: httpx.AsyncClient) -> None:
    seeded = await user_control.post("/_control/accounts", json={"email": "a@example.com", "user_id": UNKNOWN_ID})

    assert seeded.status_code == 201
    assert seeded.json()["display_name"] == "a"
    assert (await user.get(f"/v1/accounts/{UNKNOWN_ID}")).json()["email"] == "a@example.com"


@pytest.mark.parametrize("duplicate", [{"email": "A@example.com"}, {"email": "b@example.com", "user_id": UNKNOWN_ID}])
async def test_seeding_a_taken_email_or_id_conflicts(
    user_control: httpx.AsyncClient, duplicate: dict[str, str]
) -> None:
    await user_control.post("/_control/accounts", json={"email": "a@example.com", "user_id": UNKNOWN_ID})

    response = await user_control.post("/_control/accounts", json=duplicate)

    assert response.status_code == 409
    assert len((await user_control.get("/_control/accounts")).json()["accounts"]) == 1


async def test_accounts_lists_resolved_and_seeded_accounts(
    user: httpx.AsyncClient, user_control: httpx.AsyncClient
) -> None:
    await resolve(user, "one@example.com")
    await user_control.post("/_control/accounts", json={"email": "two@example.com"})

    listed = (await user_control.get("/_control/accounts")).json()["accounts"]

    assert [a["email"] for a in listed] == ["one@example.com", "two@example.com"]


async def test_reset_clears_everything(user: httpx.AsyncClient, user_control: httpx.AsyncClient) -> None:
    await resolve(user)
    await script(user_control, method="GET", path=".*", status=500)
    await user_control.post("/_control/down")

    reset = await user_control.post("/_control/reset")

    assert reset.status_code == 204
    assert (await user_control.get("/_control/status")).json() == {
        "kind": "user",
        "outage": None,
        "recorded": 0,
        "pending_responses": 0,
    }
    assert (await user_control.get("/_control/accounts")).json()["accounts"] == []
    assert (await resolve(user)).json()["created"] is True


async def test_reset_forgets_mail_deliveries_and_their_keys(
    mail: httpx.AsyncClient, mail_control: httpx.AsyncClient
) -> None:
    body = {"to": "a@example.com", "template": "auth.login_code", "params": {"code": "1", "expires_in_minutes": 1}}
    await mail.post("/v1/deliveries", json=body, headers={"Idempotency-Key": "key-00000001"})

    await mail_control.post("/_control/reset")
    again = await mail.post("/v1/deliveries", json=body, headers={"Idempotency-Key": "key-00000001"})

    assert again.status_code == 202
    assert len((await mail_control.get("/_control/deliveries")).json()["deliveries"]) == 1


async def test_each_stub_has_only_its_own_control_routes(
    user_control: httpx.AsyncClient, mail_control: httpx.AsyncClient
) -> None:
    assert (await user_control.get("/_control/deliveries")).status_code == 404
    assert (await mail_control.get("/_control/accounts")).status_code == 404


async def test_the_mail_stub_does_not_serve_user_routes(mail: httpx.AsyncClient) -> None:
    assert (await mail.post("/v1/accounts/resolve", json={"email": "a@example.com"})).status_code == 404
