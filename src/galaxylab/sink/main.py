"""Composition root of ``galaxylab-smtp-sink``: the SMTP listener and the HTTP API over one sink."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware

from galaxy.common.admin import Check, admin_app, reachable_address
from galaxy.common.auth import ServiceTokens
from galaxy.common.metrics import MetricsMiddleware
from galaxy.common.problems import EXCEPTION_HANDLERS
from galaxy.common.serve import Running, Started, StartupFailed, asgi_servers, bind, run_service
from galaxy.common.settings import ConfigError, read_service_tokens, read_setting_file
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


def banner(host: str, port: int) -> Check:
    """Ready while the SMTP port answers with a 220 banner (what the lab's readiness wait checks too)."""

    async def greets() -> None:
        async with asyncio.timeout(BANNER_TIMEOUT_SECONDS):
            reader, writer = await asyncio.open_connection(reachable_address(host), port)
            try:
                line = await reader.readline()
                writer.write(b"QUIT\r\n")
            finally:
                writer.close()
                await writer.wait_closed()
        if not line.startswith(b"220"):
            raise ConnectionError("no 220 banner")

    return greets


def create_app(sink: Sink, auth: LabToken, smtp_host: str, smtp_port: int) -> Starlette:
    """The API port: ``/api/v1/...`` (lab token), ``/healthz`` (the SMTP banner) and ``/metrics``."""
    admin = admin_app(SERVICE, {"smtp": banner(smtp_host, smtp_port)})
    return Starlette(
        routes=[*Api(sink, auth).routes(), *admin.routes],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(MetricsMiddleware, service=SERVICE)],
    )


@asynccontextmanager
async def serving(settings: SinkSettings, auth: LabToken) -> AsyncIterator[Running]:
    """The SMTP listener and the API port (``StartupFailed`` if one is taken); leaving stops both."""
    logging.getLogger("mail.log").setLevel(max(logging.WARNING, logging.getLogger().level))  # aiosmtpd: per command
    sink = create_sink(settings.max_messages)
    smtp = SmtpListener(sink, settings.max_message_bytes)
    try:
        await smtp.start(settings.listen_host, settings.port)
    except OSError as exc:
        raise StartupFailed(
            f"SMTP cannot listen on {settings.listen_host}:{settings.port}: {exc.strerror or exc}"
        ) from None
    try:
        with bind(settings.listen_host, settings.api_port, "the API") as api_socket:
            app = create_app(sink, auth, settings.listen_host, settings.port)
            async with asgi_servers((app, api_socket)) as tasks:
                log.info("serving", extra={"smtp_port": settings.port, "api_port": settings.api_port})
                yield tasks
    finally:
        await smtp.stop()


def build(settings: SinkSettings) -> Started:
    """Both listeners; the tokens file is read now (a bad one, or one without the lab's entry, is a
    ``ConfigError`` naming it)."""
    return serving(settings, lab_token(read_setting_file(settings, "service_tokens_file", read_service_tokens)))


def main() -> None:
    run_service(PROGRAM, SERVICE, SinkSettings, build)
