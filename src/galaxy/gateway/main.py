"""Composition root of the Edge Gateway: ``galaxy-gateway`` (settings from ``GALAXY_GATEWAY_*``)."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass, field

import grpc
import redis.asyncio as aioredis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from grpc_health.v1 import health_pb2_grpc

from galaxy.common.admin import Check, admin_app, listener
from galaxy.common.redis import connect
from galaxy.common.serve import Server, load_or_exit, not_started, run, until_stopped, uvicorn_server
from galaxy.common.serve import start as start_program
from galaxy.common.settings import read_secret, read_setting_file
from galaxy.gateway.adapters.http import HttpAuthSession, HttpUsers
from galaxy.gateway.adapters.push_stream import PushStreamReader, RedisPushLog
from galaxy.gateway.adapters.sessions import RedisSessions
from galaxy.gateway.domain.auth import Authenticator
from galaxy.gateway.domain.push import PushHub
from galaxy.gateway.domain.service import Downstreams, Gateway
from galaxy.gateway.settings import GatewaySettings
from galaxy.gateway.transport.grpc import GatewayServicer
from galaxy.gateway.transport.health import HealthReporter
from galaxy.gateway.transport.metrics import DROPPED, SUBSCRIPTIONS, MetricsInterceptor
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

    @classmethod
    def open(cls, settings: GatewaySettings) -> Resources:
        """Secrets and keys read now: a bad file raises ``ConfigError`` naming its setting."""
        timeout = settings.downstream_timeout_seconds
        authsession_token = read_setting_file(settings, "authsession_token_file", read_secret)
        user_token = read_setting_file(settings, "user_token_file", read_secret)
        keys = read_setting_file(settings, "token_keys_file", load_public_keys)
        return cls(
            redis=connect(settings.redis_url),
            authsession=AuthSessionClient(settings.authsession_url, authsession_token, timeout=timeout),
            users=UserClient(settings.user_url, user_token, timeout=timeout),
            keys=keys,
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
    reader: PushStreamReader
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


def build_gateway(settings: GatewaySettings, resources: Resources, hub: PushHub) -> Gateway:
    downstreams = Downstreams(
        authsession=HttpAuthSession(resources.authsession),
        users=HttpUsers(resources.users),
        push_log=RedisPushLog(resources.redis),
    )
    authenticator = Authenticator(resources.keys, settings.token_audience, RedisSessions(resources.redis))
    return Gateway(downstreams, authenticator, hub, settings.downstream_timeout_seconds)


async def start(
    settings: GatewaySettings, resources: Resources, *, port: int | None = None, admin_port: int | None = None
) -> RunningGateway:
    """Everything listening: gRPC (service + health), the push reader, the admin port.
    ``port``/``admin_port`` override the settings (0 picks a free port). ``StartupFailed`` if a port is taken."""
    hub = PushHub(settings.subscription_queue_size, on_drop=DROPPED.inc)
    SUBSCRIPTIONS.set_function(lambda: hub.open_count)
    health = HealthReporter(resources.redis.ping)
    server = _grpc_server(build_gateway(settings, resources, hub), health)
    grpc_port = _bind_grpc(server, settings.listen_host, settings.port if port is None else port)
    admin_socket = _bind_admin(settings.listen_host, settings.admin_port if admin_port is None else admin_port)
    await health.prime()
    await server.start()
    reader = PushStreamReader(resources.redis, hub.dispatch)
    background = [asyncio.create_task(reader.run()), asyncio.create_task(health.run())]
    checks: dict[str, Check] = {
        "redis": resources.redis.ping,
        "grpc": listener(settings.listen_host, grpc_port),
        "push_reader": lambda: _alive(background[0]),
    }
    bound_admin_port = int(admin_socket.getsockname()[1])
    admin = uvicorn_server(admin_app(SERVICE, checks), settings.listen_host, bound_admin_port)
    admin_task = asyncio.create_task(admin.serve(sockets=[admin_socket]))
    return RunningGateway(grpc_port, bound_admin_port, server, admin, admin_task, hub, health, reader, background)


def _grpc_server(gateway: Gateway, health: HealthReporter) -> grpc.aio.Server:
    server = grpc.aio.server(interceptors=[MetricsInterceptor(SERVICE)])
    pb_grpc.add_GatewayServiceServicer_to_server(GatewayServicer(gateway), server)  # type: ignore[no-untyped-call]
    health_pb2_grpc.add_HealthServicer_to_server(health.servicer, server)
    return server


async def serve(settings: GatewaySettings, resources: Resources) -> None:
    """Run until SIGTERM/SIGINT (or the admin server dies), then stop gracefully; ``resources`` closed last."""
    try:
        running = await start(settings, resources)
        log.info("gateway serving", extra={"grpc_port": running.grpc_port, "admin_port": running.admin_port})
        try:
            await until_stopped(running.admin_task)
        finally:
            log.info("gateway stopping")
            await running.stop(STOP_GRACE_SECONDS)
    finally:
        await resources.aclose()
    log.info("gateway stopped")


def main() -> None:
    settings = start_program(PROGRAM, SERVICE, GatewaySettings)
    resources = load_or_exit(PROGRAM, lambda: Resources.open(settings))
    try:
        run(lambda: serve(settings, resources))
    except StartupFailed as exc:
        not_started(PROGRAM, str(exc))


class StartupFailed(Exception):
    """A port cannot be bound."""


def _bind_grpc(server: grpc.aio.Server, host: str, port: int) -> int:
    address = f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
    try:
        bound = int(server.add_insecure_port(address))
    except RuntimeError as exc:
        raise StartupFailed(f"cannot listen for gRPC on {address}: {exc}") from None
    if bound == 0:
        raise StartupFailed(f"cannot listen for gRPC on {address}")
    return bound


def _bind_admin(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host.strip("[]"), port), family=family)
    except OSError as exc:
        raise StartupFailed(f"cannot listen for the admin port on {host}:{port}: {exc.strerror}") from None


async def _alive(task: asyncio.Task[None]) -> None:
    if task.done():
        raise RuntimeError("push stream reader stopped")
