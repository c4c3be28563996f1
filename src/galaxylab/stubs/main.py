"""Composition root of ``galaxylab-stub``: one kind of stub, its control API, its admin port; ``main()`` serves
them through galaxy.common.serve, the path every service starts through."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from galaxy.common.admin import admin_app, listener
from galaxy.common.auth import OperatorToken, ServiceTokens
from galaxy.common.problems import EXCEPTION_HANDLERS
from galaxy.common.serve import Started, http_servers, run_service
from galaxy.common.settings import ConfigError, read_secret, read_service_tokens, read_setting_file
from galaxy.common.tls import server_tls
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
OPERATOR_TOKEN_VARIABLE = "GALAXYLAB_STUB_OPERATOR_TOKEN_FILE"


def service_name(settings: Settings) -> str:
    """The name in its logs and metrics: ``user-stub`` or ``mail-stub``."""
    return f"{settings.kind}-stub"


def create_app(kind: Kind, tokens: dict[str, str], operator_token: str | None = None) -> ASGIApp:
    """The stub's main-port app; ``tokens`` is the boundary's service-tokens file (with a ``lab`` entry);
    ``operator_token`` opens the mail stub's operator surface, as it opens Mail Service's."""
    lab_token = _lab_token(tokens)
    service_tokens = ServiceTokens(tokens)
    state = ControlState()
    routes: list[BaseRoute]
    if kind == "user":
        accounts = AccountStore()
        control = ControlApi(kind, state, service_tokens, lab_token, accounts=accounts)
        routes = [*UserApi(accounts, service_tokens).routes(), *control.routes()]
    else:
        if operator_token is None:
            raise ConfigError("the mail stub needs the operator token")
        deliveries = DeliveryStore()
        control = ControlApi(kind, state, service_tokens, lab_token, deliveries=deliveries)
        routes = [*MailApi(deliveries, service_tokens, OperatorToken(operator_token)).routes(), *control.routes()]
    app = Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS)
    return Interceptor(app, state, service_tokens, service=f"{kind}-stub")


def _lab_token(tokens: dict[str, str]) -> str:
    if LAB_CALLER not in tokens:
        raise ConfigError(f"the service tokens need a {LAB_CALLER!r} entry for the control API")
    return tokens[LAB_CALLER]


def _control_tokens(path: Path) -> dict[str, str]:
    """The tokens file, refused without the ``lab`` entry the control API needs."""
    tokens = read_service_tokens(path)
    _lab_token(tokens)
    return tokens


def create_admin(settings: Settings) -> ASGIApp:
    """The admin port: /healthz is ready while the main port accepts connections; /metrics."""
    return admin_app(service_name(settings), {"listener": listener(settings.listen_host, settings.port)})


def build(settings: Settings) -> Started:
    """Both ports of the stub; its secret files are read now (a bad or missing one raises ``ConfigError``
    naming its variable)."""
    tokens = read_setting_file(settings, "service_tokens_file", _control_tokens)
    operator = None
    if settings.kind == "mail":
        if settings.operator_token_file is None:
            raise ConfigError(f"{OPERATOR_TOKEN_VARIABLE}: required when KIND is mail (the operator surface)")
        operator = read_setting_file(settings, "operator_token_file", read_secret)
    app = create_app(settings.kind, tokens, operator)
    host, port, admin_port = settings.listen_host, settings.port, settings.admin_port
    return http_servers(app, create_admin(settings), host, port, admin_port, tls=server_tls(settings))


def main() -> None:
    run_service(PROGRAM, service_name, Settings, build)
