"""Composition root: settings, secrets, Redis and HTTP clients wired into the app; ``main()`` serves it."""

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
from galaxy.authsession.adapters.sessions import RedisSessionStore
from galaxy.authsession.adapters.users import HttpUserDirectory
from galaxy.authsession.domain.challenges import ChallengePolicy, CodeHasher
from galaxy.authsession.service import Clock, LoginService, Signer
from galaxy.authsession.settings import Settings
from galaxy.authsession.transport.http import HANDLERS, Api
from galaxy.common import logs
from galaxy.common.admin import admin_app
from galaxy.common.auth import ServiceTokens
from galaxy.common.metrics import MetricsMiddleware
from galaxy.common.redis import connect
from galaxy.common.serve import run, serve_http
from galaxy.common.settings import read_secret, read_service_tokens
from galaxy_contracts import tokens
from galaxy_contracts.http import MailClient, UserClient

SERVICE = "authsession"


def create_app(
    settings: Settings,
    *,
    redis: aioredis.Redis | None = None,
    user_transport: httpx.AsyncBaseTransport | None = None,
    mail_transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = time.time,
) -> Starlette:
    """The service app. Secrets are read now (a bad file fails the start); connections open in the lifespan.

    ``redis`` and the transports are for tests; an injected Redis is not closed by the app.
    """
    signer = Signer(tokens.load_private_key(settings.signing_key_file), settings.signing_kid, settings.token_audience)
    service_tokens = ServiceTokens(read_service_tokens(settings.service_tokens_file))
    user_token = read_secret(settings.user_token_file)
    mail_token = read_secret(settings.mail_token_file)
    timeout = settings.downstream_timeout_seconds
    policy = ChallengePolicy(
        ttl_seconds=settings.challenge_ttl_seconds,
        max_attempts=settings.challenge_max_attempts,
        claim_seconds=2 * timeout + 5,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            store = redis
            if store is None:
                store = connect(settings.redis_url)
                stack.push_async_callback(store.aclose)
            users = UserClient(settings.user_url, user_token, timeout=timeout, transport=user_transport)
            stack.push_async_callback(users.aclose)
            mail = MailClient(settings.mail_url, mail_token, timeout=timeout, transport=mail_transport)
            stack.push_async_callback(mail.aclose)
            app.state.redis = store
            app.state.login = LoginService(
                challenges=RedisChallengeStore(store),
                sessions=RedisSessionStore(store),
                users=HttpUserDirectory(users, timeout),
                mailer=HttpCodeMailer(mail, timeout),
                hasher=CodeHasher.from_signing_key(signer.key),
                signer=signer,
                policy=policy,
                session_ttl_seconds=settings.session_ttl_seconds,
                clock=clock,
            )
            yield

    return Starlette(
        routes=Api(service_tokens, signer).routes(),
        middleware=[Middleware(MetricsMiddleware, service=SERVICE)],
        exception_handlers=HANDLERS,
        lifespan=lifespan,
    )


def create_admin(app: Starlette) -> Starlette:
    """/healthz is ready once the app's lifespan has opened Redis and Redis answers PING."""

    async def redis_ping() -> None:
        store: aioredis.Redis = app.state.redis
        await store.ping()

    return admin_app(SERVICE, {"redis": redis_ping})


def main() -> None:
    settings = Settings()
    logs.setup(SERVICE, settings.log_level)
    app = create_app(settings)
    run(lambda: serve_http(app, create_admin(app), settings.listen_host, settings.port, settings.admin_port))
