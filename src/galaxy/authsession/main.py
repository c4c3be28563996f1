"""Composition root of Auth/Session: settings, secrets, Redis, adapters, the login use cases, the HTTP
transport and the welcome outbox relay wired once; ``main()`` serves them through galaxy.common.serve."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp

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
from galaxy.authsession.transport.outbox import Relay
from galaxy.common.admin import Check, admin_app, listener
from galaxy.common.auth import ServiceTokens
from galaxy.common.metrics import MetricsMiddleware
from galaxy.common.redis import connect_service
from galaxy.common.serve import Running, Started, background, http_servers, run_service
from galaxy.common.settings import read_secret, read_service_tokens, read_setting_file
from galaxy.common.tls import ServerTLS, client_verify, server_tls
from galaxy_contracts import tokens
from galaxy_contracts.http import MailClient, UserClient

SERVICE = "authsession"
PROGRAM = "galaxy-authsession"


@dataclass(frozen=True)
class Wired:
    """The login use cases and the HTTP clients they opened (closed by the app's lifespan)."""

    service: LoginService
    clients: tuple[UserClient, MailClient]


def create_login(
    settings: Settings,
    redis: aioredis.Redis,
    *,
    user_transport: httpx.AsyncBaseTransport | None = None,
    mail_transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = time.time,
) -> Wired:
    """The use cases over ``redis`` and new User/Mail clients. Secrets are read now (a bad file raises
    ``ConfigError`` naming the setting). The transports and the clock are for tests."""
    signer = Signer(
        read_setting_file(settings, "signing_key_file", tokens.load_private_key),
        settings.signing_kid,
        settings.token_audience,
    )
    user_token = read_setting_file(settings, "user_token_file", read_secret)
    mail_token = read_setting_file(settings, "mail_token_file", read_secret)
    timeout = settings.downstream_timeout_seconds
    policy = ChallengePolicy(
        ttl_seconds=settings.challenge_ttl_seconds,
        max_attempts=settings.challenge_max_attempts,
        claim_seconds=2 * timeout + 5,
        starts_per_window=settings.challenge_starts_per_window,
        start_window_seconds=settings.challenge_start_window_seconds,
        welcome_clock_skew_seconds=settings.welcome_clock_skew_seconds,
    )
    verify = client_verify(settings, settings.user_url, settings.mail_url)
    users = UserClient(settings.user_url, user_token, timeout=timeout, transport=user_transport, verify=verify)
    mail = MailClient(settings.mail_url, mail_token, timeout=timeout, transport=mail_transport, verify=verify)
    service = LoginService(
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
    return Wired(service, (users, mail))


def create_app(
    settings: Settings,
    redis: aioredis.Redis,
    login: Wired | None = None,
    *,
    user_transport: httpx.AsyncBaseTransport | None = None,
    mail_transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock = time.time,
) -> Starlette:
    """The service app over ``login`` (by default ``create_login`` with the test hooks); it owns ``redis`` and
    the HTTP clients and closes them on shutdown. Secrets are read now (a bad file raises ``ConfigError``)."""
    service_tokens = ServiceTokens(read_setting_file(settings, "service_tokens_file", read_service_tokens))
    if login is None:
        login = create_login(settings, redis, user_transport=user_transport, mail_transport=mail_transport, clock=clock)
    clients = login.clients

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.push_async_callback(redis.aclose)
            for client in clients:
                stack.push_async_callback(client.aclose)
            yield

    return Starlette(
        routes=Api(login.service, service_tokens).routes(),
        middleware=[Middleware(MetricsMiddleware, service=SERVICE)],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )


def create_admin(settings: Settings, redis: aioredis.Redis, relay: Relay | None = None) -> Starlette:
    """/healthz: ready while Redis answers PING, the main port accepts connections and (when given) the
    welcome relay runs."""

    async def redis_ping() -> object:
        return await redis.ping()

    checks: dict[str, Check] = {"redis": redis_ping, "listener": listener(settings.listen_host, settings.port)}
    if relay is not None:
        checks["welcome_relay"] = relay.alive
    return admin_app(SERVICE, checks)


def build(settings: Settings) -> Started:
    """The program: the HTTP app and admin port, and the welcome outbox relay beside them."""
    redis = connect_service(settings)
    login = create_login(settings, redis)
    relay = Relay(login.service, interval_seconds=settings.welcome_relay_interval_seconds)
    app, admin = create_app(settings, redis, login), create_admin(settings, redis, relay)
    return serving(settings, app, admin, relay, server_tls(settings))


@asynccontextmanager
async def serving(
    settings: Settings, app: ASGIApp, admin: ASGIApp, relay: Relay, tls: ServerTLS | None = None
) -> AsyncIterator[Running]:
    """Binds and starts the servers (the main port over ``tls``, if given), then the relay; on leaving, the relay
    stops before the app closes the clients it uses."""
    host, port, admin_port = settings.listen_host, settings.port, settings.admin_port
    servers_started = http_servers(app, admin, host, port, admin_port, tls=tls)
    async with servers_started as servers, background(relay.run()) as jobs:
        yield [*servers, *jobs]


def main() -> None:
    run_service(PROGRAM, SERVICE, Settings, build)
