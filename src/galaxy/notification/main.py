"""Composition root of Notification Service: ``galaxy-notification`` (settings from ``GALAXY_NOTIFICATION_*``).

No main port: the service consumes ``notification:intents`` and serves only its admin port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis.asyncio as aioredis
from starlette.applications import Starlette

from galaxy.common.admin import Check, admin_app
from galaxy.common.redis import connect_service
from galaxy.common.serve import Running, bind, bound_port, run_service, uvicorn_server
from galaxy.common.settings import read_secret, read_setting_file
from galaxy.common.tls import client_verify
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
        timeout, verify = settings.downstream_timeout_seconds, client_verify(settings, settings.user_url)
        users = UserClient(settings.user_url, token, timeout=timeout, verify=verify)
        return cls(redis=connect_service(settings), users=users, templates=templates)

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


@dataclass
class RunningNotification:
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


async def start(settings: Settings, resources: Resources, *, admin_port: int | None = None) -> RunningNotification:
    """The consumer loop and the admin port (``admin_port`` overrides the setting; 0 picks a free port).
    ``StartupFailed`` if the admin port is taken."""
    admin_socket = bind(
        settings.listen_host, settings.admin_port if admin_port is None else admin_port, "the admin port"
    )
    consumer = create_consumer(settings, resources)
    loop_task = asyncio.create_task(consumer.run())
    admin = uvicorn_server(create_admin(settings, resources.redis, consumer, loop_task), settings.listen_host, 0)
    admin_task = asyncio.create_task(admin.serve(sockets=[admin_socket]))

    def should_exit() -> None:
        admin.should_exit = True

    return RunningNotification(consumer, loop_task, bound_port(admin_socket), admin_task, should_exit)


@asynccontextmanager
async def serving(settings: Settings, resources: Resources) -> AsyncIterator[Running]:
    """Started until the block ends (a stop signal, or the loop or the admin server ending), then stopped:
    the consumer finishes its step, then the admin port; ``resources`` closed last. A consumer loop that
    failed exits 1."""
    grace = settings.block_ms / 1000 + settings.downstream_timeout_seconds + 1
    failed: BaseException | None = None
    try:
        running = await start(settings, resources)
        log.info("notification serving", extra={"consumer": settings.consumer_name, "admin_port": running.admin_port})
        try:
            yield [running.loop_task, running.admin_task]
        finally:
            if running.loop_task.done() and not running.loop_task.cancelled():
                failed = running.loop_task.exception()
            await running.stop(grace)
    finally:
        await resources.aclose()
    if failed is not None:
        log.error("consumer loop failed", exc_info=failed)
        raise SystemExit(1)


def main() -> None:
    run_service(PROGRAM, SERVICE, Settings, lambda settings: serving(settings, Resources.open(settings)))
