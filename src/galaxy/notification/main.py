"""Composition root of Notification Service: ``galaxy-notification`` (settings from ``GALAXY_NOTIFICATION_*``).

No main port: the service consumes ``notification:intents`` and serves only its admin port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis
from starlette.applications import Starlette

from galaxy.common.admin import Check, admin_app
from galaxy.common.redis import connect
from galaxy.common.serve import load_or_exit, not_started, run, until_stopped, uvicorn_server
from galaxy.common.serve import start as start_program
from galaxy.common.settings import read_secret, read_setting_file
from galaxy.notification.adapters.outbox import RedisOutbox
from galaxy.notification.adapters.recipients import UserServiceRecipients
from galaxy.notification.domain.catalog import Templates
from galaxy.notification.domain.service import Notifier
from galaxy.notification.settings import Settings
from galaxy.notification.transport.stream import Consumer
from galaxy_contracts import streams
from galaxy_contracts.http import UserClient

SERVICE = "notification"
PROGRAM = "galaxy-notification"
log = logging.getLogger(__name__)


@dataclass
class Resources:
    """What the service opens at start and closes at stop; tests pass their own."""

    redis: aioredis.Redis
    users: UserClient
    templates: Templates

    @classmethod
    def open(cls, settings: Settings) -> Resources:
        """Token and catalog read now: a bad one raises (``ConfigError``, ``ValueError``) naming what is wrong."""
        token = read_setting_file(settings, "user_token_file", read_secret)
        templates = Templates(streams.typed_catalog())
        users = UserClient(settings.user_url, token, timeout=settings.downstream_timeout_seconds)
        return cls(redis=connect(settings.redis_url), users=users, templates=templates)

    async def aclose(self) -> None:
        await self.users.aclose()
        await self.redis.aclose()


def create_consumer(settings: Settings, resources: Resources) -> Consumer:
    recipients = UserServiceRecipients(resources.users, settings.downstream_timeout_seconds)
    outbox = RedisOutbox(resources.redis, dedupe_ttl_seconds=settings.dedupe_ttl_seconds)
    notifier = Notifier(resources.templates, recipients, outbox, max_deliveries=settings.max_deliveries)
    return Consumer(
        resources.redis,
        notifier,
        consumer_name=settings.consumer_name,
        block_ms=settings.block_ms,
        batch=settings.batch,
        reclaim_min_idle_ms=settings.reclaim_min_idle_ms,
    )


def create_admin(
    settings: Settings, redis: aioredis.Redis, consumer: Consumer, loop_task: asyncio.Task[None]
) -> Starlette:
    """/healthz: ready while Redis answers PING and the consumer loop runs and completed a step lately."""
    stale_after = 3 * (settings.block_ms / 1000 + settings.downstream_timeout_seconds) + 1

    async def redis_ping() -> object:
        return await redis.ping()

    checks: dict[str, Check] = {"redis": redis_ping, "consumer": consumer_alive(consumer, loop_task, stale_after)}
    return admin_app(SERVICE, checks)


def consumer_alive(consumer: Consumer, task: asyncio.Task[None], stale_after: float) -> Check:
    async def check() -> None:
        if task.done():
            raise ConsumerStopped("consumer loop ended")
        since = consumer.since_last_step()
        if since is None or since > stale_after:
            raise ConsumerStopped("consumer loop made no step lately")

    return check


class ConsumerStopped(RuntimeError):
    pass


class StartupFailed(Exception):
    """The admin port cannot be bound."""


@dataclass
class Running:
    consumer: Consumer
    loop_task: asyncio.Task[None]
    admin_port: int
    admin_task: asyncio.Task[None]
    should_exit: Callable[[], None]

    async def stop(self, grace: float) -> None:
        """The consumer finishes its step within ``grace`` (an interrupted step is redelivered), then admin."""
        self.consumer.stop()
        try:
            await asyncio.wait_for(asyncio.shield(self.loop_task), grace)
        except TimeoutError:
            self.loop_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.loop_task
        self.should_exit()
        await self.admin_task


async def start(settings: Settings, resources: Resources, *, admin_port: int | None = None) -> Running:
    """The consumer loop and the admin port (``admin_port`` overrides the setting; 0 picks a free port)."""
    admin_socket = _bind_admin(settings.listen_host, settings.admin_port if admin_port is None else admin_port)
    consumer = create_consumer(settings, resources)
    loop_task = asyncio.create_task(consumer.run())
    admin = uvicorn_server(create_admin(settings, resources.redis, consumer, loop_task), settings.listen_host, 0)
    admin_task = asyncio.create_task(admin.serve(sockets=[admin_socket]))

    def should_exit() -> None:
        admin.should_exit = True

    return Running(consumer, loop_task, int(admin_socket.getsockname()[1]), admin_task, should_exit)


async def serve(settings: Settings, resources: Resources) -> None:
    """Until SIGTERM/SIGINT (or the loop or the admin server ends); ``resources`` closed last."""
    grace = settings.block_ms / 1000 + settings.downstream_timeout_seconds + 1
    failed: BaseException | None = None
    try:
        running = await start(settings, resources)
        log.info("notification serving", extra={"consumer": settings.consumer_name, "admin_port": running.admin_port})
        await until_stopped(running.loop_task, running.admin_task)
        if running.loop_task.done() and not running.loop_task.cancelled():
            failed = running.loop_task.exception()
        await running.stop(grace)
    finally:
        await resources.aclose()
    if failed is not None:
        log.error("consumer loop failed", exc_info=failed)
        raise SystemExit(1)
    log.info("notification stopped")


def main() -> None:
    settings = start_program(PROGRAM, SERVICE, Settings)
    resources = load_or_exit(PROGRAM, lambda: Resources.open(settings))
    try:
        run(lambda: serve(settings, resources))
    except StartupFailed as exc:
        not_started(PROGRAM, str(exc))


def _bind_admin(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host.strip("[]"), port), family=family)
    except OSError as exc:
        raise StartupFailed(f"cannot listen for the admin port on {host}:{port}: {exc.strerror}") from None
