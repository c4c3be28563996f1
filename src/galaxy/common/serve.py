"""Run a service's servers in one event loop until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import uvicorn
from starlette.types import ASGIApp

log = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Server(uvicorn.Server):
    """uvicorn without its own signal handling: the process owns SIGTERM/SIGINT.

    uvicorn's handler re-raises the signal after shutdown, so a clean stop would
    exit 143 and skip the caller's cleanup; with several servers in one loop the
    handlers would also overwrite each other.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def uvicorn_server(app: ASGIApp, host: str, port: int) -> Server:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    return Server(config)


def on_stop_signal(callback: Callable[[], None]) -> None:
    """Call ``callback`` (once per signal) on SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, callback)


async def serve_http(app: ASGIApp, admin: ASGIApp, host: str, port: int, admin_port: int) -> None:
    """The service app and its admin app; a stop signal or either server ending stops both."""
    servers = [uvicorn_server(app, host, port), uvicorn_server(admin, host, admin_port)]

    def stop() -> None:
        log.info("stop signal received; shutting down")
        for server in servers:
            server.should_exit = True

    on_stop_signal(stop)
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    stop()
    await asyncio.gather(*tasks, return_exceptions=True)


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Entry point helper: run ``main`` and exit cleanly on Ctrl-C."""
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        log.info("interrupted")
