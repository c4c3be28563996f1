"""Run a service's servers in one event loop until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn
from starlette.types import ASGIApp

log = logging.getLogger(__name__)


def uvicorn_server(app: ASGIApp, host: str, port: int) -> uvicorn.Server:
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
    return uvicorn.Server(config)


async def serve_http(app: ASGIApp, admin: ASGIApp, host: str, port: int, admin_port: int) -> None:
    """The service app and its admin app; either stopping stops both."""
    servers = [uvicorn_server(app, host, port), uvicorn_server(admin, host, admin_port)]
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Entry point helper: run ``main`` and exit cleanly on Ctrl-C."""
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        log.info("interrupted")
