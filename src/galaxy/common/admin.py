"""The admin HTTP port: ``/healthz`` (readiness) and ``/metrics`` (Prometheus text)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Check = Callable[[], Awaitable[object]]
log = logging.getLogger(__name__)
CHECK_TIMEOUT_SECONDS = 1.0
LISTENER_TIMEOUT_SECONDS = 0.5
_WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1"}


def reachable_address(host: str) -> str:
    """Where this process reaches its own listener bound to ``host`` (a wildcard means loopback)."""
    return _WILDCARDS.get(host, host.strip("[]"))


def listener(host: str, port: int, timeout: float = LISTENER_TIMEOUT_SECONDS) -> Check:
    """A check that the service's own main port accepts a TCP connection within ``timeout`` seconds."""

    async def accepts() -> None:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(reachable_address(host), port)
            writer.close()
            await writer.wait_closed()

    return accepts


async def _run(check: Check) -> str:
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return f"down: {type(exc).__name__}"
    return "up"


def admin_app(service: str, checks: Mapping[str, Check]) -> Starlette:
    """``checks`` are awaited on each /healthz; any failure answers 503 naming it."""

    async def healthz(_: Request) -> Response:
        results = dict(zip(checks, await asyncio.gather(*(_run(c) for c in checks.values())), strict=True))
        ready = all(state == "up" for state in results.values())
        body = {"service": service, "status": "ready" if ready else "not_ready", "checks": results}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/healthz", healthz), Route("/metrics", metrics)])
