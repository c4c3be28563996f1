"""Composition root of ``galaxylab-stub``: one kind of stub, its control API, its admin port; ``main()`` serves
them through galaxy.common.serve, the path every service starts through."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from galaxy.common.admin import admin_app, listener
from galaxy.common.auth import ServiceTokens
from galaxy.common.problems import EXCEPTION_HANDLERS
from galaxy.common.serve import Started, http_servers, run_service
from galaxy.common.settings import ConfigError, read_service_tokens, read_setting_file
from galaxylab.stubs.domain.accounts import AccountStore
from galaxylab.stubs.domain.control import ControlState
from galaxylab.stubs.domain.deliveries import DeliveryStore
from galaxylab.stubs.settings import Kind, Settings
from galaxylab.stubs.transport.control import ControlApi
from galaxylab.stubs.transport.interceptor import Interceptor
from galaxylab.stubs.transport.mail import MailApi
from galaxylab.stubs.transport.user import UserApi

PROGRAM = "galaxylab-stub"
LAB_CALLER = "lab"


def service_name(settings: Settings) -> str:
    """The name in its logs and metrics: ``user-stub`` or ``mail-stub``."""
    return f"{settings.kind}-stub"


def create_app(kind: Kind, tokens: dict[str, str]) -> ASGIApp:
    """The stub's main-port app; ``tokens`` is the boundary's service-tokens file (with a ``lab`` entry)."""
    if LAB_CALLER not in tokens:
        raise ConfigError(f"the service tokens need a {LAB_CALLER!r} entry for the control API")
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


def create_admin(settings: Settings) -> ASGIApp:
    """The admin port: /healthz is ready while the main port accepts connections; /metrics."""
    return admin_app(service_name(settings), {"listener": listener(settings.listen_host, settings.port)})


def build(settings: Settings) -> Started:
    """Both ports of the stub; the tokens file is read now (a bad one raises ``ConfigError`` naming it)."""
    app = read_setting_file(
        settings, "service_tokens_file", lambda path: create_app(settings.kind, read_service_tokens(path))
    )
    return http_servers(app, create_admin(settings), settings.listen_host, settings.port, settings.admin_port)


def main() -> None:
    run_service(PROGRAM, service_name, Settings, build)
