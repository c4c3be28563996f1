"""Composition root of Auth/Session: settings, secrets, Redis, adapters, the login use cases and the HTTP
transport wired once; ``main()`` serves them through galaxy.common.serve."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.middleware import Middleware

from galaxy.authsession.adapters.challenges import RedisChallengeStore
from galaxy.authsession.adapters.mail import HttpCodeMailer
from galaxy.authsession.adapters.metrics import PrometheusLoginMetrics
from galaxy.authsession.adapters.sessions import RedisSessionStore
from galaxy.authsession.adapters.users import HttpUserDirectory
from galaxy.authsession.domain.model import ChallengePolicy, CodeHasher, Signer
from galaxy.authsession.domain.ports import Clock
from galaxy.authsession.domain.service import LoginService
from galaxy.authsession.settings import Settings
from galaxy.authsession.transport.http import EXCEPTION_HANDLERS, Api
from galaxy.common.admin import admin_app, listener
from galaxy.common.auth import ServiceTokens
from galaxy.common.metrics import MetricsMiddleware
from galaxy.common.serve import run_http_service
from galaxy.common.settings import read_secret, read_service_tokens, read_setting_file
from galaxy_contracts import tokens
from galaxy_contracts.http import MailClient, UserClient

SERVICE = "authsession"
PROGRAM = "galaxy-authsession"


def create_app(
    settings: Settings,
    redis: aioredis.Redis,
    *,
    user_transport: httpx.AsyncBaseTransport | None = None,
    mail_transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = time.time,
) -> Starlette:
    """The service app; it owns ``redis`` and the HTTP clients and closes them on shutdown. Secrets are read
    now (a bad file raises ``ConfigError`` naming the setting). The transports and the clock are for tests."""
    signer = Signer(
        read_setting_file(settings, "signing_key_file", tokens.load_private_key),
        settings.signing_kid,
        settings.token_audience,
    )
    service_tokens = ServiceTokens(read_setting_file(settings, "service_tokens_file", read_service_tokens))
    user_token = read_setting_file(settings, "user_token_file", read_secret)
    mail_token = read_setting_file(settings, "mail_token_file", read_secret)
    timeout = settings.downstream_timeout_seconds
    policy = ChallengePolicy(
        ttl_seconds=settings.challenge_ttl_seconds,
        max_attempts=settings.challenge_max_attempts,
        claim_seconds=2 * timeout + 5,
        starts_per_window=settings.challenge_starts_per_window,
        start_window_seconds=settings.challenge_start_window_seconds,
    )
    users = UserClient(settings.user_url, user_token, timeout=timeout, transport=user_transport)
    mail = MailClient(settings.mail_url, mail_token, timeout=timeout, transport=mail_transport)
    login = LoginService(
        challenges=RedisChallengeStore(redis),
        sessions=RedisSessionStore(redis),
        users=HttpUserDirectory(users, timeout),
        mailer=HttpCodeMailer(mail, timeout),
        hasher=CodeHasher.from_signing_key(signer.key),
        signer=signer,
        policy=policy,
        session_ttl_seconds=settings.session_ttl_seconds,
        clock=clock,
        metrics=PrometheusLoginMetrics(),
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.push_async_callback(redis.aclose)
            stack.push_async_callback(users.aclose)
            stack.push_async_callback(mail.aclose)
            yield

    return Starlette(
        routes=Api(login, service_tokens).routes(),
        middleware=[Middleware(MetricsMiddleware, service=SERVICE)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )


def create_admin(settings: Settings, redis: aioredis.Redis) -> Starlette:
    """/healthz: ready while Redis answers PING and the main port accepts connections."""

    async def redis_ping() -> object:
        return await redis.ping()

    return admin_app(SERVICE, {"redis": redis_ping, "listener": listener(settings.listen_host, settings.port)})


def main() -> None:
    run_http_service(PROGRAM, SERVICE, Settings, create_app, create_admin)
