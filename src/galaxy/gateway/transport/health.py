"""The standard grpc.health.v1 service: SERVING while Redis answers, NOT_SERVING otherwise."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from grpc_health.v1 import health, health_pb2

from galaxy.common.serve import stop_requested
from galaxy_contracts.gateway import pb

log = logging.getLogger(__name__)
GATEWAY_SERVICE = pb.DESCRIPTOR.services_by_name["GatewayService"].full_name
SERVICES = (health.OVERALL_HEALTH, GATEWAY_SERVICE)
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class HealthReporter:
    def __init__(self, probe: Callable[[], Awaitable[object]], interval: float = 1.0, timeout: float = 1.0) -> None:
        self.servicer = health.aio.HealthServicer()
        self._probe = probe
        self._interval = interval
        self._timeout = timeout
        self.serving: bool | None = None

    async def prime(self) -> None:
        """NOT_SERVING until the first probe answers (call before the server starts)."""
        await self._set(False)

    async def run(self) -> None:
        """Probe forever; the status follows each probe."""
        while not stop_requested():
            failure = await self._failure()
            await self._set(failure is None, failure)
            await asyncio.sleep(self._interval)
        raise asyncio.CancelledError

    async def _failure(self) -> str | None:
        """Why Redis does not answer; tried twice, since the first use of a pooled connection that Redis
        dropped (a restart) fails once and redis-py's own retry backs off longer than the probe waits."""
        failure = None
        for _ in range(2):
            try:
                async with asyncio.timeout(self._timeout):
                    await self._probe()
            except Exception as exc:
                if stop_requested():
                    raise asyncio.CancelledError from exc
                failure = type(exc).__name__
            else:
                return None
        return failure

    async def _set(self, serving: bool, failure: str | None = None) -> None:
        if serving != self.serving and (self.serving is not None or serving):
            log.info("health changed", extra={"serving": serving, "reason": failure or "redis answers"})
        self.serving = serving
        for service in SERVICES:
            await self.servicer.set(service, SERVING if serving else NOT_SERVING)

    async def shutdown(self) -> None:
        await self.servicer.enter_graceful_shutdown()
