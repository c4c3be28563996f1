"""The admin port's listener check: a TCP connect to the service's own main port, with a short timeout."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from galaxy.common import admin
from galaxy.common.admin import admin_app, listener, reachable_address
from tests.unit.common.ports import closed_port, listening


async def healthz(checks: dict[str, admin.Check]) -> httpx.Response:
    transport = httpx.ASGITransport(app=admin_app("svc", checks))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
        return await client.get("/healthz")


async def test_a_listening_main_port_is_up() -> None:
    with listening() as port:
        response = await healthz({"listener": listener("127.0.0.1", port)})

    assert response.status_code == 200
    assert response.json()["checks"] == {"listener": "up"}


async def test_a_main_port_where_nothing_listens_is_503_naming_the_listener() -> None:
    response = await healthz({"listener": listener("127.0.0.1", closed_port())})

    assert response.status_code == 503
    assert response.json()["checks"]["listener"].startswith("down")


async def test_a_listener_that_stopped_is_down_again() -> None:
    with listening() as port:
        check = listener("127.0.0.1", port)
        await check()
    with pytest.raises(ConnectionRefusedError):
        await check()


async def test_the_check_gives_up_after_its_own_short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    async def never(*_: object) -> object:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    monkeypatch.setattr(asyncio, "open_connection", never)
    started = time.monotonic()

    with pytest.raises(TimeoutError):
        await listener("127.0.0.1", 1, timeout=0.05)()

    assert time.monotonic() - started < admin.CHECK_TIMEOUT_SECONDS


@pytest.mark.parametrize(
    ("host", "address"),
    [("0.0.0.0", "127.0.0.1"), ("", "127.0.0.1"), ("::", "::1"), ("[::]", "::1"), ("127.0.0.5", "127.0.0.5")],
)
def test_a_wildcard_bind_is_reached_on_loopback(host: str, address: str) -> None:
    assert reachable_address(host) == address
