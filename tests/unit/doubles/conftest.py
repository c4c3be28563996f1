"""Each service and its lab double, built with the factories their programs use, behind one fixture
parametrized ``real`` / ``stub``: the same checks run against both, in process (httpx's ASGI transport,
the real services over fakeredis with their lifespan running)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import fakeredis
import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import ASGIApp

from galaxy.mail import main as mail_main
from galaxy.mail.settings import Settings as MailSettings
from galaxy.user import main as user_main
from galaxy.user.settings import Settings as UserSettings
from galaxylab.stubs import main as stub_main
from tests.unit.doubles.helpers import (
    LOGIN_CODE,
    OPERATOR_TOKEN,
    SEED_EMAIL,
    SEED_KEY,
    TOKENS,
    Implementation,
    until_recorded,
)

IMPLEMENTATIONS = ["real", "stub"]


def _secrets(directory: Path) -> tuple[Path, Path]:
    tokens, operator = directory / "service-tokens.json", directory / "operator.token"
    tokens.write_text(json.dumps(TOKENS))
    operator.write_text(OPERATOR_TOKEN + "\n")
    return tokens, operator


def real_user(directory: Path) -> Starlette:
    tokens, _ = _secrets(directory)
    settings = UserSettings(port=8030, admin_port=8031, service_tokens_file=tokens)
    return user_main.create_app(settings, fakeredis.FakeAsyncRedis(decode_responses=True))


def real_mail(directory: Path) -> Starlette:
    """Mail Service with its ``stub`` provider (as gatewayauthsessionmail runs it): deliveries end ``recorded``."""
    tokens, operator = _secrets(directory)
    settings = MailSettings(
        port=8040,
        admin_port=8041,
        service_tokens_file=tokens,
        operator_token_file=operator,
        provider="stub",
        poll_interval_seconds=0.02,
        stream_block_seconds=0.02,
        instance_name="parity",
    )
    return mail_main.create_app(settings, fakeredis.FakeAsyncRedis(decode_responses=True))


def stub(kind: str, directory: Path) -> ASGIApp:
    """The stub as ``galaxylab-stub`` builds it from the boundary's secret files."""
    tokens, operator = _secrets(directory)
    if kind == "user":
        return stub_main.create_app("user", json.loads(tokens.read_text()))
    return stub_main.create_app("mail", json.loads(tokens.read_text()), operator.read_text().strip())


async def _serving(stack: AsyncExitStack, app: ASGIApp) -> httpx.AsyncClient:
    if isinstance(app, Starlette):  # a service: its lifespan runs (background work; closes its Redis)
        await stack.enter_async_context(app.router.lifespan_context(app))
    transport = httpx.ASGITransport(app=app)
    return await stack.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://parity"))


@pytest.fixture(params=IMPLEMENTATIONS)
async def user(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Implementation]:
    """User Service or the user stub, holding one account (``known``) resolved through the contract."""
    app = real_user(tmp_path) if request.param == "real" else stub("user", tmp_path)
    async with AsyncExitStack() as stack:
        client = await _serving(stack, app)
        target = Implementation(request.param, app, client)
        resolved = await target.call("POST", "/v1/accounts/resolve", json={"email": SEED_EMAIL})
        assert resolved.status_code == 200, resolved.text
        target.known = resolved.json()["account"]["user_id"]
        yield target


@pytest.fixture(params=IMPLEMENTATIONS)
async def mail(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Implementation]:
    """Mail Service or the mail stub, holding one delivery (``known``, key ``SEED_KEY`` of authsession) that
    has reached ``recorded``."""
    app = real_mail(tmp_path) if request.param == "real" else stub("mail", tmp_path)
    async with AsyncExitStack() as stack:
        client = await _serving(stack, app)
        target = Implementation(request.param, app, client)
        created = await target.call("POST", "/v1/deliveries", json=LOGIN_CODE, headers={"Idempotency-Key": SEED_KEY})
        assert created.status_code == 202, created.text
        target.known = created.json()["delivery_id"]
        await until_recorded(target)
        yield target
