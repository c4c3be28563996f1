"""Composition root of the Edge Gateway: settings, secrets, Redis and HTTP clients, adapters, the use cases
and the gRPC transport wired once; ``main()`` serves them through galaxy.common.serve."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import grpc
import redis.asyncio as aioredis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from grpc_health.v1 import health_pb2_grpc
from starlette.applications import Starlette

from galaxy.common.admin import Check, admin_app, listener
from galaxy.common.redis import connect_service
from galaxy.common.serve import Running, Server, StartupFailed, bind, bound_port, run_service, uvicorn_server
from galaxy.common.settings import read_secret, read_setting_file
from galaxy.common.tls import ServerTLS, client_verify, server_tls
from galaxy.gateway.adapters.authsession import HttpAuthSession
from galaxy.gateway.adapters.login_starts import RedisLoginStarts
from galaxy.gateway.adapters.push_log import RedisPushLog
from galaxy.gateway.adapters.sessions import RedisSessions
from galaxy.gateway.adapters.users import HttpUsers
from galaxy.gateway.domain.model import StartLimit
from galaxy.gateway.domain.service import Authenticator, Downstreams, Gateway, PushHub
from galaxy.gateway.settings import Settings
from galaxy.gateway.transport.grpc import Servicer
from galaxy.gateway.transport.health import HealthReporter
from galaxy.gateway.transport.metrics import DROPPED, SUBSCRIPTIONS, MetricsInterceptor
from galaxy.gateway.transport.stream import Consumer
from galaxy_contracts.gateway import pb_grpc
from galaxy_contracts.http import AuthSessionClient, UserClient
from galaxy_contracts.tokens import load_public_keys

SERVICE = "gateway"
PROGRAM = "galaxy-gateway"
STOP_GRACE_SECONDS = 5.0
log = logging.getLogger(__name__)


@dataclass
class Resources:
    """What the gateway opens at start and closes at stop; tests pass fakes."""

    redis: aioredis.Redis
    authsession: AuthSessionClient
    users: UserClient
    keys: dict[str, Ed25519PublicKey]
    tls: ServerTLS | None = None

    @classmethod
    def open(cls, settings: Settings) -> Resources:
        """Secrets and keys read now: a bad file raises ``ConfigError`` naming its setting."""
        timeout = settings.downstream_timeout_seconds
        authsession_token = read_setting_file(settings, "authsession_token_file", read_secret)
        user_token = read_setting_file(settings, "user_token_file", read_secret)
        keys = read_setting_file(settings, "token_keys_file", load_public_keys)
        verify = client_verify(settings, settings.authsession_url, settings.user_url)
        return cls(
            redis=connect_service(settings),
            authsession=AuthSessionClient(settings.authsession_url, authsession_token, timeout=timeout, verify=verify),
            users=UserClient(settings.user_url, user_token, timeout=timeout, verify=verify),
            keys=keys,
            tls=server_tls(settings),
        )

    async def aclose(self) -> None:
        await self.authsession.aclose()
        await self.users.aclose()
        await self.redis.aclose()


@dataclass
class RunningGateway:
    grpc_port: int
    admin_port: int
    server: grpc.aio.Server
    admin: Server
    admin_task: asyncio.Task[None]
    hub: PushHub
    health: HealthReporter
    consumer: Consumer
    background: list[asyncio.Task[None]] = field(default_factory=list)

    async def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Health NOT_SERVING, open streams told to resubscribe elsewhere, in-flight calls given ``grace``."""
        await self.health.shutdown()
        self.hub.shutdown()
        await self.server.stop(grace)
        self.admin.should_exit = True
        for task in self.background:
            task.cancel()
        await asyncio.gather(self.admin_task, *self.background, return_exceptions=True)


def create_gateway(settings: Settings, resources: Resources, hub: PushHub) -> Gateway:
    """The use cases with their adapters."""
    downstreams = Downstreams(
        authsession=HttpAuthSession(resources.authsession),
        users=HttpUsers(resources.users),
        push_log=RedisPushLog(resources.redis),
        login_starts=RedisLoginStarts(resources.redis),
    )
    authenticator = Authenticator(resources.keys, settings.token_audience, RedisSessions(resources.redis))
    start_limit = StartLimit(settings.peer_login_starts_per_window, settings.peer_login_window_seconds)
    return Gateway(downstreams, authenticator, hub, settings.downstream_timeout_seconds, start_limit)


def create_app(settings: Settings, gateway: Gateway, health: HealthReporter) -> grpc.aio.Server:
    """The main port's gRPC server: GatewayService and grpc.health.v1 (not bound yet), refusing requests
    larger than ``max_request_bytes`` (RESOURCE_EXHAUSTED from gRPC itself)."""
    options = [("grpc.max_receive_message_length", settings.max_request_bytes)]
    server = grpc.aio.server(interceptors=[MetricsInterceptor(SERVICE)], options=options)
    servicer = Servicer(gateway, settings.rpc_timeout_seconds)
    pb_grpc.add_GatewayServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    health_pb2_grpc.add_HealthServicer_to_server(health.servicer, server)
    return server


def create_admin(settings: Settings, redis: aioredis.Redis, grpc_port: int, consumer: asyncio.Task[None]) -> Starlette:
    """/healthz: ready while Redis answers PING, the gRPC port accepts connections and the push consumer runs."""
    checks: dict[str, Check] = {
        "redis": redis.ping,
        "grpc": listener(settings.listen_host, grpc_port),
        "push_reader": lambda: _alive(consumer),
    }
    return admin_app(SERVICE, checks)


async def start(
    settings: Settings, resources: Resources, *, port: int | None = None, admin_port: int | None = None
) -> RunningGateway:
    """Everything listening: gRPC (service + health), the push consumer, the admin port.
    ``port``/``admin_port`` override the settings (0 picks a free port). ``StartupFailed`` if a port is taken."""
    hub = PushHub(settings.subscription_queue_size, on_drop=DROPPED.inc, max_per_user=settings.subscriptions_per_user)
    SUBSCRIPTIONS.set_function(lambda: hub.open_count)
    health = HealthReporter(resources.redis.ping)
    server = create_app(settings, create_gateway(settings, resources, hub), health)
    grpc_port = _bind_grpc(server, settings.listen_host, settings.port if port is None else port, resources.tls)
    admin_socket = bind(
        settings.listen_host, settings.admin_port if admin_port is None else admin_port, "the admin port"
    )
    await health.prime()
    await server.start()
    consumer = Consumer(resources.redis, hub.dispatch)
    background = [asyncio.create_task(consumer.run()), asyncio.create_task(health.run())]
    admin_asgi = create_admin(settings, resources.redis, grpc_port, background[0])
    admin = uvicorn_server(admin_asgi, settings.listen_host, bound_port(admin_socket))
    admin_task = asyncio.create_task(admin.serve(sockets=[admin_socket]))
    return RunningGateway(
        grpc_port, bound_port(admin_socket), server, admin, admin_task, hub, health, consumer, background
    )


@asynccontextmanager
async def serving(settings: Settings, resources: Resources) -> AsyncIterator[Running]:
    """The gateway started (``StartupFailed`` if a port is taken), stopped gracefully on leaving; ``resources``
    closed last."""
    try:
        running = await start(settings, resources)
        log.info("gateway serving", extra={"grpc_port": running.grpc_port, "admin_port": running.admin_port})
        try:
            yield [running.admin_task]
        finally:
            log.info("gateway stopping")
            await running.stop(STOP_GRACE_SECONDS)
    finally:
        await resources.aclose()


def main() -> None:
    run_service(PROGRAM, SERVICE, Settings, lambda settings: serving(settings, Resources.open(settings)))


def _bind_grpc(server: grpc.aio.Server, host: str, port: int, tls: ServerTLS | None = None) -> int:
    """The public port: over TLS with ``tls`` (no client certificate asked: callers authenticate with tokens)."""
    address = f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
    try:
        if tls is None:
            bound = int(server.add_insecure_port(address))
        else:
            bound = int(server.add_secure_port(address, grpc.ssl_server_credentials([tls.chain()])))
    except RuntimeError as exc:
        raise StartupFailed(f"cannot listen for gRPC on {address}: {exc}") from None
    if bound == 0:
        raise StartupFailed(f"cannot listen for gRPC on {address}")
    return bound


async def _alive(task: asyncio.Task[None]) -> None:
    if task.done():
        raise RuntimeError("push stream reader stopped")
