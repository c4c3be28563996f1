"""In-process stubs (httpx's ASGITransport): no ports, no processes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.types import ASGIApp

from tests.unit.stubs.helpers import authorization, stub_app


@pytest.fixture
def user_app() -> ASGIApp:
    return stub_app("user")


@pytest.fixture
def mail_app() -> ASGIApp:
    return stub_app("mail")


def _client(app: ASGIApp, caller: str | None) -> httpx.AsyncClient:
    headers = authorization(caller) if caller else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stub", headers=headers)


@pytest.fixture
async def user(user_app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    """The user stub as authsession calls it."""
    async with _client(user_app, "authsession") as client:
        yield client


@pytest.fixture
async def user_control(user_app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(user_app, "lab") as client:
        yield client


@pytest.fixture
async def mail(mail_app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(mail_app, "authsession") as client:
        yield client


@pytest.fixture
async def mail_control(mail_app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(mail_app, "lab") as client:
        yield client


@pytest.fixture
async def anonymous_user(user_app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(user_app, None) as client:
        yield client
