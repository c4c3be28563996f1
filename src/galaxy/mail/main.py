"""Composition root of Mail Service: settings, secrets, Redis, domain, adapters and transports wired once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.middleware import Middleware

from galaxy.common.admin import Check, admin_app, listener
from galaxy.common.auth import OperatorToken, ServiceTokens
from galaxy.common.metrics import MetricsMiddleware
from galaxy.common.redis import connect_service
from galaxy.common.serve import Started, http_servers, run_service
from galaxy.common.settings import read_secret, read_service_tokens, read_setting_file
from galaxy.common.tls import client_tls, server_tls
from galaxy.mail.adapters.deliveries import RedisDeliveryStore
from galaxy.mail.adapters.provider import SmtpProvider, StubProvider
from galaxy.mail.adapters.templates import JinjaTemplates
from galaxy.mail.domain.model import RetryPolicy, utcnow
from galaxy.mail.domain.ports import Provider
from galaxy.mail.domain.service import Deliveries, Dispatcher
from galaxy.mail.settings import Settings
from galaxy.mail.transport.http import EXCEPTION_HANDLERS, Api
from galaxy.mail.transport.queue import Runner
from galaxy.mail.transport.stream import Consumer

SERVICE = "mail"
PROGRAM = "galaxy-mail"
log = logging.getLogger(__name__)


@dataclass
class Mail:
    """The service wired: its use cases, its HTTP API and the background work the app's lifespan runs."""

    deliveries: Deliveries
    api: Api
    runner: Runner
    consumer: Consumer
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        self.tasks = [
            asyncio.create_task(self.runner.run(), name="mail-sender"),
            asyncio.create_task(self.runner.housekeeping(), name="mail-housekeeping"),
            asyncio.create_task(self.consumer.run(), name="mail-consumer"),
        ]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.runner.drain()

    async def alive(self) -> None:
        """Raises unless every background loop is running."""
        stopped = [task.get_name() for task in self.tasks if task.done()]
        if not self.tasks or stopped:
            raise RuntimeError(f"not running: {', '.join(stopped) or 'background work'}")


def provider_of(settings: Settings) -> Provider:
    """The configured provider; the SMTP password and the CA it verifies the server with are read now (a bad
    file raises naming its setting)."""
    if settings.provider == "stub":
        return StubProvider()
    password = None
    if settings.smtp_password_file is not None:
        password = read_setting_file(settings, "smtp_password_file", read_secret)
    return SmtpProvider(
        settings.smtp_host,
        settings.smtp_port,
        timeout_seconds=settings.smtp_timeout_seconds,
        starttls=settings.smtp_starttls,
        tls=settings.smtp_tls,
        tls_context=client_tls(settings) if settings.smtp_tls or settings.smtp_starttls else None,
        username=settings.smtp_username,
        password=password,
    )


def compose(
    settings: Settings,
    redis: aioredis.Redis,
    *,
    provider: Provider | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Mail:
    """Everything wired; secrets are read now (``ConfigError`` naming the setting). ``provider``/``clock`` for tests."""
    tokens = ServiceTokens(read_setting_file(settings, "service_tokens_file", read_service_tokens))
    operator = OperatorToken(read_setting_file(settings, "operator_token_file", read_secret))
    store = RedisDeliveryStore(redis, retention_seconds=settings.retention_seconds)
    policy = RetryPolicy(settings.retry_schedule_seconds, settings.delivery_lifetime_seconds)
    dispatcher = Dispatcher(
        store,
        provider or provider_of(settings),
        policy,
        sender=settings.from_address,
        owner=settings.instance_name,
        lease_seconds=settings.lease_seconds,
        retention_seconds=settings.retention_seconds,
        clock=clock,
    )
    runner = Runner(
        dispatcher, concurrency=settings.send_concurrency, poll_interval_seconds=settings.poll_interval_seconds
    )
    deliveries = Deliveries(
        store, JinjaTemplates(), policy, sender_domain=settings.sender_domain, clock=clock, on_accepted=runner.wake
    )
    consumer = Consumer(
        redis,
        deliveries,
        name=settings.instance_name,
        block_seconds=settings.stream_block_seconds,
        reclaim_idle_seconds=settings.stream_reclaim_idle_seconds,
        max_deliveries=settings.stream_max_deliveries,
    )
    return Mail(deliveries, Api(deliveries, tokens, operator), runner, consumer)


def create_app(settings: Settings, redis: aioredis.Redis, mail: Mail | None = None) -> Starlette:
    """The service's HTTP app; its lifespan runs the background work and closes ``redis`` at the end."""
    wired = mail or compose(settings, redis)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await wired.start()
        log.info("background work started", extra={"provider": settings.provider, "instance": settings.instance_name})
        try:
            yield
        finally:
            await wired.stop()
            await redis.aclose()
            log.info("background work stopped, redis connection closed")

    return Starlette(
        routes=wired.api.routes(),
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(MetricsMiddleware, service=SERVICE)],
        lifespan=lifespan,
    )


def create_admin(settings: Settings, redis: aioredis.Redis, mail: Mail | None = None) -> Starlette:
    """/healthz: ready while Redis answers PING, the main port accepts connections and (given ``mail``) the
    background work runs."""

    async def redis_ping() -> object:
        return await redis.ping()

    checks: dict[str, Check] = {"redis": redis_ping, "listener": listener(settings.listen_host, settings.port)}
    if mail is not None:
        checks["workers"] = mail.alive
    return admin_app(SERVICE, checks)


def build(settings: Settings) -> Started:
    """Both ports of the service; secrets are read now (a bad one raises ``ConfigError`` naming it)."""
    redis = connect_service(settings)
    mail = compose(settings, redis)
    app = create_app(settings, redis, mail)
    admin = create_admin(settings, redis, mail)
    tls = server_tls(settings)
    return http_servers(app, admin, settings.listen_host, settings.port, settings.admin_port, tls=tls)


def main() -> None:
    run_service(PROGRAM, SERVICE, Settings, build)
