"""Composition root of User Service: settings, Redis, domain, adapters and transport wired once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.middleware import Middleware

from galaxy.common.admin import admin_app, listener
from galaxy.common.auth import ServiceTokens
from galaxy.common.metrics import MetricsMiddleware
from galaxy.common.serve import run_http_service
from galaxy.common.settings import read_service_tokens, read_setting_file
from galaxy.user.adapters.accounts import RedisAccountStore
from galaxy.user.domain.service import Accounts
from galaxy.user.settings import Settings
from galaxy.user.transport.http import EXCEPTION_HANDLERS, Api

SERVICE = "user"
PROGRAM = "galaxy-user"
log = logging.getLogger(__name__)


def create_app(settings: Settings, redis: aioredis.Redis) -> Starlette:
    """The service's HTTP app; it owns ``redis`` and closes it on shutdown. A bad tokens file raises here."""
    tokens = ServiceTokens(read_setting_file(settings, "service_tokens_file", read_service_tokens))
    accounts = Accounts(RedisAccountStore(redis))

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await redis.aclose()
            log.info("redis connection closed")

    return Starlette(
        routes=Api(accounts, tokens).routes(),
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(MetricsMiddleware, service=SERVICE)],
        lifespan=lifespan,
    )


def create_admin(settings: Settings, redis: aioredis.Redis) -> Starlette:
    """/healthz: ready while Redis answers PING and the main port accepts connections."""

    async def redis_ping() -> object:
        return await redis.ping()

    return admin_app(SERVICE, {"redis": redis_ping, "listener": listener(settings.listen_host, settings.port)})


def main() -> None:
    run_http_service(PROGRAM, SERVICE, Settings, create_app, create_admin)
