"""Composition root of User Service: settings, Redis, domain, adapters and transport wired once."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware

from galaxy.common import logs
from galaxy.common.admin import admin_app
from galaxy.common.auth import ServiceTokens
from galaxy.common.metrics import MetricsMiddleware
from galaxy.common.redis import connect
from galaxy.common.serve import run, serve_http
from galaxy.common.settings import read_service_tokens
from galaxy.user.adapters.redis_accounts import RedisAccountStore
from galaxy.user.domain.service import Accounts
from galaxy.user.settings import Settings
from galaxy.user.transport.http import EXCEPTION_HANDLERS, UserApi

SERVICE = "user"
log = logging.getLogger(__name__)


def create_app(settings: Settings, redis: aioredis.Redis) -> Starlette:
    """The service's HTTP app; it owns ``redis`` and closes it on shutdown."""
    tokens = ServiceTokens(read_service_tokens(settings.service_tokens_file))
    accounts = Accounts(RedisAccountStore(redis))

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await redis.aclose()
            log.info("redis connection closed")

    return Starlette(
        routes=UserApi(accounts, tokens).routes(),
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(MetricsMiddleware, service=SERVICE)],
        lifespan=lifespan,
    )


def create_admin_app(redis: aioredis.Redis) -> Starlette:
    async def redis_ping() -> object:
        return await redis.ping()

    return admin_app(SERVICE, {"redis": redis_ping})


def main() -> None:
    try:
        settings = Settings()
        logs.setup(SERVICE, settings.log_level)
        redis = connect(settings.redis_url)
        app, admin = create_app(settings, redis), create_admin_app(redis)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_input=False))
        sys.exit(f"galaxy-user: bad settings (GALAXY_USER_*): {problems}")
    except (OSError, ValueError) as exc:
        sys.exit(f"galaxy-user: cannot start: {type(exc).__name__}: {exc}")
    log.info(
        "user service starting",
        extra={"listen_host": settings.listen_host, "port": settings.port, "admin_port": settings.admin_port},
    )
    run(lambda: serve_http(app, admin, settings.listen_host, settings.port, settings.admin_port))
    log.info("user service stopped")
