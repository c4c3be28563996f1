"""Composition root of ``galaxylab-stub``: one kind of stub, its control API, its admin port."""

from __future__ import annotations

import asyncio
import logging

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from galaxy.common import logs
from galaxy.common.admin import admin_app
from galaxy.common.auth import ServiceTokens
from galaxy.common.problems import EXCEPTION_HANDLERS
from galaxy.common.serve import run, serve_http
from galaxy.common.settings import read_service_tokens
from galaxylab.stubs.domain.accounts import AccountStore
from galaxylab.stubs.domain.control import ControlState
from galaxylab.stubs.domain.deliveries import DeliveryStore
from galaxylab.stubs.settings import Kind, StubSettings
from galaxylab.stubs.transport.control import ControlApi
from galaxylab.stubs.transport.interceptor import Interceptor
from galaxylab.stubs.transport.mail import MailApi
from galaxylab.stubs.transport.user import UserApi

LAB_CALLER = "lab"
log = logging.getLogger(__name__)


def build_app(kind: Kind, tokens: dict[str, str]) -> ASGIApp:
    """The stub's main-port app; ``tokens`` is the boundary's service-tokens file (with a ``lab`` entry)."""
    if LAB_CALLER not in tokens:
        raise ValueError(f"the service tokens need a {LAB_CALLER!r} entry for the control API")
    service_tokens = ServiceTokens(tokens)
    state = ControlState()
    routes: list[BaseRoute]
    if kind == "user":
        accounts = AccountStore()
        control = ControlApi(kind, state, service_tokens, tokens[LAB_CALLER], accounts=accounts)
        routes = [*UserApi(accounts, service_tokens).routes(), *control.routes()]
    else:
        deliveries = DeliveryStore()
        control = ControlApi(kind, state, service_tokens, tokens[LAB_CALLER], deliveries=deliveries)
        routes = [*MailApi(deliveries, service_tokens).routes(), *control.routes()]
    app = Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS)
    return Interceptor(app, state, service_tokens, service=f"{kind}-stub")


async def listening(host: str, port: int) -> None:
    """Readiness: the main port accepts connections."""
    target = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    _, writer = await asyncio.open_connection(target, port)
    writer.close()
    await writer.wait_closed()


def build_admin(kind: Kind, host: str, port: int) -> ASGIApp:
    """The admin port: /healthz is ready while the main port accepts connections; /metrics."""
    return admin_app(f"{kind}-stub", {"listener": lambda: listening(host, port)})


async def serve(settings: StubSettings, app: ASGIApp) -> None:
    admin = build_admin(settings.kind, settings.listen_host, settings.port)
    log.info(
        "serving",
        extra={"kind": settings.kind, "port": settings.port, "admin_port": settings.admin_port},
    )
    await serve_http(app, admin, settings.listen_host, settings.port, settings.admin_port)


def main() -> None:
    try:
        settings = StubSettings()
        app = build_app(settings.kind, read_service_tokens(settings.service_tokens_file))
    except (ValidationError, OSError, ValueError) as exc:
        raise SystemExit(f"galaxylab-stub: bad configuration: {exc}") from None
    logs.setup(f"{settings.kind}-stub", settings.log_level)
    run(lambda: serve(settings, app))
