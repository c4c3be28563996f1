"""A real sink per test (SMTP + API on free ports of 127.0.0.1) and an API client with the lab token."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.unit.sink.running import TOKENS, RunningSink, running_sink


@pytest.fixture
async def running() -> AsyncIterator[RunningSink]:
    async with running_sink() as sink:
        yield sink


@pytest.fixture
def smtp_port(running: RunningSink) -> int:
    return running.smtp_port


def client(url: str, caller: str | None = "lab", token: str | None = None) -> httpx.AsyncClient:
    token = token or (TOKENS[caller] if caller else None)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=url, headers=headers, timeout=10.0)


@pytest.fixture
async def api(running: RunningSink) -> AsyncIterator[httpx.AsyncClient]:
    async with client(running.api_url) as http:
        yield http
