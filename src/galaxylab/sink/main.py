"""Composition root of ``galaxylab-smtp-sink``: the SMTP listener and the HTTP API over one sink."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.middleware import Middleware

from galaxy.common.admin import Check, admin_app, reachable_address
from galaxy.common.auth import ServiceTokens
from galaxy.common.metrics import MetricsMiddleware
from galaxy.common.problems import EXCEPTION_HANDLERS
from galaxy.common.serve import Running, Started, StartupFailed, asgi_servers, bind, run_service
from galaxy.common.settings import ConfigError, read_service_tokens, read_setting_file
from galaxy.common.tls import ServerTLS, client_tls, server_tls
from galaxylab.sink.domain.attempts import Attempts
from galaxylab.sink.domain.faults import Faults
from galaxylab.sink.domain.mailbox import Mailbox
from galaxylab.sink.domain.service import Sink
from galaxylab.sink.settings import SinkSettings
from galaxylab.sink.transport.http import Api, LabToken
from galaxylab.sink.transport.smtp import SmtpListener

PROGRAM = "galaxylab-smtp-sink"
SERVICE = "smtp-sink"
LAB_CALLER = "lab"
BANNER_TIMEOUT_SECONDS = 0.5
log = logging.getLogger(__name__)


def create_sink(max_messages: int) -> Sink:
    return Sink(Mailbox(max_messages), Faults(), Attempts(max_messages))


def lab_token(tokens: dict[str, str]) -> LabToken:
    """The API's guard; the boundary's tokens file must have the ``lab`` entry."""
    if LAB_CALLER not in tokens:
        raise ConfigError(f"the service tokens need a {LAB_CALLER!r} entry for the sink's API")
    return LabToken(ServiceTokens(tokens), tokens[LAB_CALLER])


def banner(host: str, port: int, tls: ssl.SSLContext | None = None) -> Check:
    """Ready while the SMTP port answers with a 220 banner (what the lab's readiness wait checks too); over
    ``tls`` (a client context trusting the lab's CA) when the port speaks TLS."""

    async def greets() -> None:
        address = reachable_address(host)
        async with asyncio.timeout(BANNER_TIMEOUT_SECONDS):
            reader, writer = await asyncio.open_connection(
                address, port, ssl=tls, server_hostname=None if tls is None else address
            )
            try:
                line = await reader.readline()
                writer.write(b"QUIT\r\n")
            finally:
                writer.close()
                await writer.wait_closed()
        if not line.startswith(b"220"):
            raise ConnectionError("no 220 banner")

    return greets


def create_app(
    sink: Sink, auth: LabToken, smtp_host: str, smtp_port: int, smtp_tls: ssl.SSLContext | None = None
) -> Starlette:
    """The API port: ``/api/v1/...`` (lab token), ``/healthz`` (the SMTP banner, read over ``smtp_tls`` when
    the SMTP port speaks TLS) and ``/metrics``."""
    admin = admin_app(SERVICE, {"smtp": banner(smtp_host, smtp_port, smtp_tls)})
    return Starlette(
        routes=[*Api(sink, auth).routes(), *admin.routes],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(MetricsMiddleware, service=SERVICE)],
    )


@dataclass(frozen=True)
class SinkTLS:
    """With TLS on (``TLS_CERT_FILE``, ``TLS_KEY_FILE``, ``TLS_CA_FILE``): both ports speak TLS with the host's
    certificate, and ``/healthz`` reads the banner verifying it with the lab's CA."""

    server: ServerTLS
    client: ssl.SSLContext


def sink_tls(settings: SinkSettings) -> SinkTLS | None:
    """The sink's TLS, read now (a bad file is a ``ConfigError`` naming it); None when it is off."""
    server = server_tls(settings)
    return None if server is None else SinkTLS(server, client_tls(settings))


@asynccontextmanager
async def serving(settings: SinkSettings, auth: LabToken, tls: SinkTLS | None = None) -> AsyncIterator[Running]:
    """The SMTP listener and the API port (``StartupFailed`` if one is taken), both over ``tls`` when given;
    leaving stops both."""
    logging.getLogger("mail.log").setLevel(max(logging.WARNING, logging.getLogger().level))  # aiosmtpd: per command
    sink = create_sink(settings.max_messages)
    smtp = SmtpListener(sink, settings.max_message_bytes)
    try:
        await smtp.start(settings.listen_host, settings.port, None if tls is None else tls.server.context())
    except OSError as exc:
        raise StartupFailed(
            f"SMTP cannot listen on {settings.listen_host}:{settings.port}: {exc.strerror or exc}"
        ) from None
    try:
        with bind(settings.listen_host, settings.api_port, "the API") as api_socket:
            app = create_app(sink, auth, settings.listen_host, settings.port, None if tls is None else tls.client)
            async with asgi_servers((app, api_socket, None if tls is None else tls.server)) as tasks:
                log.info(
                    "serving",
                    extra={"smtp_port": settings.port, "api_port": settings.api_port, "tls": tls is not None},
                )
                yield tasks
    finally:
        await smtp.stop()


def build(settings: SinkSettings) -> Started:
    """Both listeners; the tokens file and the TLS files are read now (a bad one, or a tokens file without the
    lab's entry, is a ``ConfigError`` naming it)."""
    auth = lab_token(read_setting_file(settings, "service_tokens_file", read_service_tokens))
    return serving(settings, auth, sink_tls(settings))


def main() -> None:
    run_service(PROGRAM, SERVICE, SinkSettings, build)
