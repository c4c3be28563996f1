"""tests.harness.stubs.StubControl against in-process stubs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.types import ASGIApp

from tests.harness.stubs import RecordedRequest, RequestNotSeen, StubControl, StubControlError
from tests.unit.stubs.helpers import TOKENS


def _control(app: ASGIApp, token: str = TOKENS["lab"]) -> StubControl:
    return StubControl("http://stub", token, transport=httpx.ASGITransport(app=app))


@pytest.fixture
async def user_stub(user_app: ASGIApp) -> AsyncIterator[StubControl]:
    async with _control(user_app) as stub:
        yield stub


@pytest.fixture
async def mail_stub(mail_app: ASGIApp) -> AsyncIterator[StubControl]:
    async with _control(mail_app) as stub:
        yield stub


async def resolve(client: httpx.AsyncClient, email: str = "ada@example.com") -> httpx.Response:
    return await client.post("/v1/accounts/resolve", json={"email": email})


async def test_requests_are_typed_and_filtered(user_stub: StubControl, user: httpx.AsyncClient) -> None:
    await resolve(user)
    await user.get("/v1/accounts/u_" + "0" * 32)

    everything = await user_stub.requests()
    resolves = await user_stub.requests(path_prefix="/v1/accounts/resolve")

    assert [(r.method, r.status, r.caller) for r in everything] == [
        ("POST", 200, "authsession"),
        ("GET", 404, "authsession"),
    ]
    assert [r.body for r in resolves] == [{"email": "ada@example.com"}]


async def test_clear_forgets_requests(user_stub: StubControl, user: httpx.AsyncClient) -> None:
    await resolve(user)

    await user_stub.clear()

    assert await user_stub.requests() == []


async def test_script_then_default(user_stub: StubControl, user: httpx.AsyncClient) -> None:
    scripted = await user_stub.script("POST", "/v1/accounts/resolve", status=503, times=2)

    statuses = [(await resolve(user)).status_code for _ in range(3)]

    assert (scripted.remaining, statuses) == (2, [503, 503, 200])
    assert await user_stub.scripts() == []


async def test_clear_scripts(user_stub: StubControl, user: httpx.AsyncClient) -> None:
    await user_stub.script("POST", ".*", status=500, times=5)

    await user_stub.clear_scripts()

    assert (await resolve(user)).status_code == 200


async def test_down_and_up(user_stub: StubControl, user: httpx.AsyncClient) -> None:
    await user_stub.down()
    during = await resolve(user)
    status = await user_stub.status()
    await user_stub.up()

    assert (during.status_code, during.json()["code"], status.outage) == (503, "upstream_unavailable", "unavailable")
    assert (await resolve(user)).status_code == 200


async def test_down_in_reset_mode(user_stub: StubControl, user: httpx.AsyncClient) -> None:
    await user_stub.down("reset")

    with pytest.raises(ConnectionResetError):
        await resolve(user)


async def test_seed_account_and_accounts(user_stub: StubControl, user: httpx.AsyncClient) -> None:
    seeded = await user_stub.seed_account("eve@example.com", blocked=True, locale="fr", push_enabled=False)

    resolved = (await resolve(user, "eve@example.com")).json()

    assert resolved["account"] == seeded.model_dump(mode="json")
    assert seeded.blocked
    assert seeded.display_name == "eve"
    assert not seeded.notification_preferences.push_enabled
    assert await user_stub.accounts() == [seeded]


async def test_deliveries(mail_stub: StubControl, mail: httpx.AsyncClient) -> None:
    body = {
        "to": "ada@example.com",
        "template": "auth.login_code",
        "params": {"code": "123456", "expires_in_minutes": 10},
    }
    await mail.post("/v1/deliveries", json=body, headers={"Idempotency-Key": "key-00000001"})

    (delivery,) = await mail_stub.deliveries()

    assert (delivery.to, delivery.params, delivery.idempotency_key, delivery.caller) == (
        "ada@example.com",
        {"code": "123456", "expires_in_minutes": 10},
        "key-00000001",
        "authsession",
    )


async def test_reset(user_stub: StubControl, user: httpx.AsyncClient) -> None:
    await resolve(user)
    await user_stub.down()

    await user_stub.reset()

    status = await user_stub.status()
    assert (status.outage, status.recorded, await user_stub.accounts()) == (None, 0, [])


async def test_wait_for_request_returns_a_request_that_arrives_later(
    user_stub: StubControl, user: httpx.AsyncClient
) -> None:
    # The late request is sent once the wait has looked at the stub's record at least once (it holds an
    # earlier request), so it arrives while the wait polls, not before.
    await resolve(user, "early@example.com")
    polled = asyncio.Event()

    def is_late(request: RecordedRequest) -> bool:
        polled.set()
        return bool(request.body == {"email": "late@example.com"})

    async def later() -> None:
        await polled.wait()
        await resolve(user, "late@example.com")

    task = asyncio.create_task(later())
    seen = await user_stub.wait_for_request(is_late, timeout=5)
    await task

    assert seen.path == "/v1/accounts/resolve"


async def test_wait_for_request_fails_at_its_deadline_naming_what_it_saw(
    user_stub: StubControl, user: httpx.AsyncClient
) -> None:
    await resolve(user)

    started = time.monotonic()
    with pytest.raises(RequestNotSeen, match=r"POST /v1/accounts/resolve -> 200"):
        await user_stub.wait_for_request(lambda r: r.method == "DELETE", timeout=0.3)

    assert 0.3 <= time.monotonic() - started < 3


async def test_a_wrong_lab_token_is_an_error(user_app: ASGIApp) -> None:
    async with _control(user_app, TOKENS["gateway"]) as stub:
        with pytest.raises(StubControlError) as refused:
            await stub.requests()

    assert refused.value.status == 403
