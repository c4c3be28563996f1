"""Composition root of the Edge Gateway: ``galaxy-gateway`` (settings from ``GALAXY_GATEWAY_*``)."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
from dataclasses import dataclass, field

import grpc
import redis.asyncio as aioredis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from grpc_health.v1 import health_pb2_grpc
from pydantic import ValidationError

from galaxy.common import logs
from galaxy.common.admin import Check, admin_app
from galaxy.common.redis import connect
from galaxy.common.serve import Server, run, uvicorn_server
from galaxy.common.settings import read_secret
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
        timeout = settings.downstream_timeout_seconds
        authsession_token = read_secret(settings.authsession_token_file)
        user_token = read_secret(settings.user_token_file)
        return cls(
            redis=connect(settings.redis_url),
            authsession=AuthSessionClient(settings.authsession_url, authsession_token, timeout=timeout),
            users=UserClient(settings.user_url, user_token, timeout=timeout),
            keys=load_public_keys(settings.token_keys_file),
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
        "grpc": lambda: _connect(settings.listen_host, grpc_port),
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


async def serve(settings: GatewaySettings) -> None:
    """Run until SIGTERM/SIGINT, then stop gracefully."""
    resources = _open(settings)
    try:
        running = await start(settings, resources)
        log.info("gateway serving", extra={"grpc_port": running.grpc_port, "admin_port": running.admin_port})
        try:
            await _until_signalled(running.admin_task)
        finally:
            log.info("gateway stopping")
            await running.stop(STOP_GRACE_SECONDS)
    finally:
        await resources.aclose()
    log.info("gateway stopped")


def main() -> None:
    try:
        settings = GatewaySettings()
    except ValidationError as exc:
        names = ", ".join(f"GALAXY_GATEWAY_{'_'.join(map(str, e['loc'])).upper()} ({e['msg']})" for e in exc.errors())
        sys.exit(f"galaxy-gateway: invalid or missing settings: {names}")
    logs.setup(SERVICE, settings.log_level)
    try:
        run(lambda: serve(settings))
    except StartupFailed as exc:
        log.error("gateway failed to start", extra={"reason": str(exc)})
        sys.exit(1)


class StartupFailed(Exception):
    """A secret or key file cannot be read, or a port cannot be bound."""


def _open(settings: GatewaySettings) -> Resources:
    try:
        return Resources.open(settings)
    except (OSError, ValueError) as exc:
        raise StartupFailed(f"cannot load secrets or token keys: {type(exc).__name__}: {exc}") from None


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


def _local(host: str) -> str:
    """Where this process can reach its own listener bound to ``host``."""
    return {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1", "[::]": "::1"}.get(host, host.strip("[]"))


async def _connect(host: str, port: int) -> None:
    _, writer = await asyncio.open_connection(_local(host), port)
    writer.close()
    await writer.wait_closed()


async def _alive(task: asyncio.Task[None]) -> None:
    if task.done():
        raise RuntimeError("push stream reader stopped")


async def _until_signalled(admin_task: asyncio.Task[None]) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({waiter, admin_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
