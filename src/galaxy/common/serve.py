"""Run a program (every service and the lab's stubs): settings and secrets loaded, listeners bound (or one
clear line and exit 1), then its servers in one event loop until SIGTERM/SIGINT, then a graceful stop.

``run_service`` is the one path; ``run_http_service`` is it for an HTTP service with a Redis client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, NoReturn, TypeVar

import redis.asyncio as aioredis
import uvicorn
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from starlette.types import ASGIApp

from galaxy.common import logs
from galaxy.common.redis import connect_service
from galaxy.common.settings import ListenerSettings, ServiceSettings
from galaxy.common.tls import ServerTLS, server_tls

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
S = TypeVar("S", bound=BaseSettings)
P = TypeVar("P", bound=ListenerSettings)
SS = TypeVar("SS", bound=ServiceSettings)
T = TypeVar("T")
Running = Sequence[Awaitable[Any]]
"""What a started program must keep running: one of them ending (a server that died) stops the program."""
Started = AbstractAsyncContextManager[Running]
"""A program's servers: entering binds and starts them (``StartupFailed`` if a port is taken), leaving stops
them gracefully and closes what they opened."""


# --- start-up: configuration ---------------------------------------------------------------------


def not_started(program: str, reason: str) -> NoReturn:
    """Log why ``program`` cannot start (one line: stderr before logging is set up) and exit 1, no traceback."""
    log.error("%s cannot start: %s", program, reason)
    raise SystemExit(1)


def load_settings(program: str, settings_cls: type[S]) -> S:
    """The settings from the environment; missing or invalid ones stop the program, named, values never echoed."""
    try:
        return settings_cls()
    except ValidationError as exc:
        prefix = str(settings_cls.model_config.get("env_prefix", ""))
        not_started(program, f"bad settings: {problems(exc, prefix)}")


def load_or_exit(program: str, load: Callable[[], T]) -> T:
    """``load()`` (secrets, keys, clients); a configuration error stops the program with one line.

    Raise ``galaxy.common.settings.ConfigError`` (see ``read_setting_file``) to say which setting is at fault.
    """
    try:
        return load()
    except ValidationError as exc:
        not_started(program, f"bad configuration: {problems(exc)}")
    except OSError as exc:
        not_started(program, f"{exc.filename or type(exc).__name__}: {exc.strerror or 'cannot be read'}")
    except ValueError as exc:  # ConfigError included; UnicodeError would quote the file's bytes
        not_started(program, "a file is not UTF-8 text" if isinstance(exc, UnicodeError) else str(exc))


def problems(exc: ValidationError, prefix: str = "") -> str:
    """Each invalid field as ``PREFIX_NAME: message`` (never the input)."""
    found = exc.errors(include_input=False, include_url=False, include_context=False)
    return "; ".join(f"{prefix}{'_'.join(map(str, e['loc']))}".upper() + f": {e['msg']}" for e in found)


# --- serving -------------------------------------------------------------------------------------


class StartupFailed(Exception):
    """A listener cannot be bound; the message names the address."""


def bind(host: str, port: int, what: str) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0 picks a free port); ``StartupFailed`` naming ``what``.

    With ``TCP_NODELAY``, which every accepted connection inherits: asyncio sets it itself only on sockets
    created with ``IPPROTO_TCP`` (``create_server`` leaves the protocol 0), and uvicorn writes an answer's head
    and body apart, so without it the body of every answer on a reused connection waited for the client's
    delayed ACK (about 40 ms per hop; a login crosses four)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host.strip("[]"), port), family=family)
    except OSError as exc:
        raise StartupFailed(f"cannot listen for {what} on {host}:{port}: {exc.strerror}") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def bound_port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


class Server(uvicorn.Server):
    """uvicorn without its own signal handling: the process owns SIGTERM/SIGINT.

    uvicorn's handler re-raises the signal after shutdown, so a clean stop would
    exit 143 and skip the caller's cleanup; with several servers in one loop the
    handlers would also overwrite each other.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


# An idle keep-alive connection is closed by the client first: httpx (every Galaxy client, and the common
# default elsewhere) drops it after 5 s, uvicorn's own default is also 5 s, and with equal timeouts a client
# may send a request on a connection the server is closing at that instant (a ReadError on a loaded host).
KEEP_ALIVE_SECONDS = 30


def uvicorn_server(app: ASGIApp, host: str, port: int, tls: ServerTLS | None = None) -> Server:
    """uvicorn serving ``app``; over TLS with ``tls`` (its context made when the server starts)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        server_header=False,
        ssl_context_factory=None if tls is None else lambda _config, _default: tls.context(),
    )
    return Server(config)


def on_stop_signal(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` (once per signal) on SIGTERM or SIGINT; returns what removes the handlers again."""
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, callback)

    def remove() -> None:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)

    return remove


async def until_stopped(*running: Awaitable[Any]) -> None:
    """Return on SIGTERM/SIGINT, or as soon as one of ``running`` ends (a server that died)."""
    stop = asyncio.Event()
    remove = on_stop_signal(stop.set)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({waiter, *map(asyncio.ensure_future, running)}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        remove()
    if stop.is_set():
        log.info("stop signal received; shutting down")


Served = tuple[ASGIApp, socket.socket] | tuple[ASGIApp, socket.socket, ServerTLS | None]
"""An app on its bound socket, over TLS when a third item is given."""


@asynccontextmanager
async def asgi_servers(*apps: Served) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Each app served by uvicorn on its bound socket (with its TLS, if any); leaving shuts them all down
    gracefully."""
    servers = [uvicorn_server(served[0], *served[1].getsockname()[:2], *served[2:]) for served in apps]
    tasks = [
        asyncio.create_task(server.serve(sockets=[served[1]])) for server, served in zip(servers, apps, strict=True)
    ]
    try:
        yield tasks
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)


@asynccontextmanager
async def http_servers(
    app: ASGIApp, admin: ASGIApp, host: str, port: int, admin_port: int, *, tls: ServerTLS | None = None
) -> AsyncIterator[list[asyncio.Task[None]]]:
    """The main app (over TLS with ``tls``) and the admin app (always plain: readiness and metrics), both ports
    bound on entering (``StartupFailed`` names a taken one)."""
    with contextlib.ExitStack() as sockets:
        main = sockets.enter_context(bind(host, port, "HTTP"))
        admin_socket = sockets.enter_context(bind(host, admin_port, "the admin port"))
        async with asgi_servers((app, main, tls), (admin, admin_socket)) as tasks:
            yield tasks


def stop_requested() -> bool:
    """Whether the running task has been asked to stop (cancelled). A loop that runs until cancelled checks this
    on every turn and in its error handler: a library may swallow the cancellation (the call returns as usual)
    or turn it into an ordinary error (both seen with the Redis client under load), and the loop would go on
    forever, and the stop that awaits it hang."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


@asynccontextmanager
async def background(*jobs: Coroutine[Any, Any, None]) -> AsyncIterator[list[asyncio.Task[None]]]:
    """``jobs`` (a stream consumer, a prober) running as tasks until the block ends, then cancelled and awaited.
    Yield the tasks among a program's ``Running``: one that ends on its own stops the program."""
    tasks = [asyncio.create_task(job) for job in jobs]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def serve(started: Started) -> None:
    """Start, wait for a stop signal (or a server that died), stop."""
    async with started as running:
        await until_stopped(*running)


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Entry point helper: run ``main`` and exit cleanly on Ctrl-C."""
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        log.info("interrupted")


def run_service(
    program: str,
    service: str | Callable[[P], str],
    settings_cls: type[P],
    build: Callable[[P], Started],
) -> None:
    """The whole life of a program: settings (exit 1 naming a bad one), ``build(settings)`` (the composition
    root: reads secrets and wires everything; a ``ConfigError`` exits 1 with one line), logging, then its
    servers (a port taken exits 1 with one line) until SIGTERM/SIGINT, then a graceful stop.

    A configuration error is reported before logging is set up: one plain line on stderr."""
    settings = load_settings(program, settings_cls)
    started = load_or_exit(program, lambda: build(settings))
    logs.setup(service if isinstance(service, str) else service(settings), settings.log_level)
    log.info("%s starting", program, extra=settings.listening())
    try:
        run(lambda: serve(started))
    except StartupFailed as exc:
        not_started(program, str(exc))
    log.info("%s stopped", program)
    exit_stopped()


def exit_stopped() -> NoReturn:
    """Exit 0 once the graceful stop is done, without the interpreter's own finalization: nothing is left to
    release (servers and clients closed, every message acknowledged or left pending for the next start), and
    tearing down a program's ~700 modules and threads costs ~0.1 CPU s, which made a lab's 35 programs
    stopped at once on two cores take 2-3 s after their last log line (bench/README.md). Logs are flushed."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run_http_service(
    program: str,
    service: str,
    settings_cls: type[SS],
    create_app: Callable[[SS, aioredis.Redis], ASGIApp],
    create_admin: Callable[[SS, aioredis.Redis], ASGIApp],
) -> None:
    """``run_service`` for an HTTP service: its Redis client, ``create_app`` (secrets are read now) on the
    main port, ``create_admin`` on the admin port.

    The app owns the Redis client (its lifespan closes it); the admin app only pings it.
    """

    def build(settings: SS) -> Started:
        redis = connect_service(settings)
        app = create_app(settings, redis)
        admin = create_admin(settings, redis)
        tls = server_tls(settings)
        return http_servers(app, admin, settings.listen_host, settings.port, settings.admin_port, tls=tls)

    run_service(program, service, settings_cls, build)
