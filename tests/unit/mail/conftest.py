"""Mail Service in process: the real app over fakeredis (background work running in its lifespan),
a real SMTP server on 127.0.0.1, called through httpx's ASGI transport."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import fakeredis
import httpx
import pytest
from starlette.applications import Starlette

from galaxy.mail.main import Mail, compose, create_app
from galaxy.mail.settings import Settings
from tests.unit.mail.helpers import AUTH, OPERATOR_TOKEN, TOKENS
from tests.unit.mail.smtp import Sink, start_sink

FAST = {
    "retry_schedule_seconds": (0.05, 0.1),
    "delivery_lifetime_seconds": 30.0,
    "smtp_timeout_seconds": 0.3,
    "lease_seconds": 1.0,
    "poll_interval_seconds": 0.02,
    "stream_block_seconds": 0.02,
    "stream_reclaim_idle_seconds": 0.2,
    "instance_name": "mail-test",
}


def write_settings(directory: Path, **overrides: Any) -> Settings:
    tokens = directory / "service-tokens.json"
    tokens.write_text(json.dumps(TOKENS))
    operator = directory / "operator.token"
    operator.write_text(OPERATOR_TOKEN + "\n")
    values: dict[str, Any] = {"port": 8040, "admin_port": 8041, "provider": "stub", **FAST, **overrides}
    return Settings(service_tokens_file=tokens, operator_token_file=operator, **values)


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def redis(server: fakeredis.FakeServer) -> fakeredis.FakeAsyncRedis:
    """A client of its own for the test's reads and writes (the app closes its own at the end)."""
    return fakeredis.FakeAsyncRedis(server=server, decode_responses=True)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return write_settings(tmp_path)


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    sink = Sink()
    smtp = await start_sink(sink)
    try:
        yield sink
    finally:
        smtp.close()
        await smtp.wait_closed()


@pytest.fixture
def smtp_settings(tmp_path: Path, sink: Sink) -> Settings:
    return write_settings(tmp_path, provider="smtp", smtp_host="127.0.0.1", smtp_port=sink.port)


Start = Callable[[Settings], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def start(server: fakeredis.FakeServer) -> AsyncIterator[Start]:
    """Starts an instance (lifespan: background work) with the given settings; all stopped at the end."""
    async with AsyncExitStack() as stack:

        async def start_one(settings: Settings) -> httpx.AsyncClient:
            app = create_app(settings, fakeredis.FakeAsyncRedis(server=server, decode_responses=True))
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            client = httpx.AsyncClient(transport=transport, base_url="http://mail", headers=AUTH)
            return await stack.enter_async_context(client)

        yield start_one


@pytest.fixture
async def client(start: Start, settings: Settings) -> httpx.AsyncClient:
    """Service-token client of a running stub-provider instance."""
    return await start(settings)


@pytest.fixture
async def smtp_client(start: Start, smtp_settings: Settings) -> httpx.AsyncClient:
    """Service-token client of a running smtp-provider instance sending to ``sink``."""
    return await start(smtp_settings)


@pytest.fixture
def idle_app(settings: Settings, server: fakeredis.FakeServer) -> Starlette:
    """The app without its lifespan: nothing is sent (deliveries stay queued)."""
    return create_app(settings, fakeredis.FakeAsyncRedis(server=server, decode_responses=True))


@pytest.fixture
async def anonymous(idle_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=idle_app), base_url="http://mail") as client:
        yield client


@pytest.fixture
def mail(settings: Settings, server: fakeredis.FakeServer) -> Mail:
    """The wired service without its background loops, for driving one step at a time."""
    return compose(settings, fakeredis.FakeAsyncRedis(server=server, decode_responses=True))


@pytest.fixture
async def idle(idle_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Service-token client of an app whose background work does not run: deliveries stay queued."""
    transport = httpx.ASGITransport(app=idle_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mail", headers=AUTH) as client:
        yield client
