"""RPC counters and latency by method and status code, for the admin port's /metrics."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("galaxy_grpc_requests_total", "gRPC calls handled", ["service", "method", "code"])
LATENCY = Histogram("galaxy_grpc_request_seconds", "gRPC call duration (a stream: its life)", ["service", "method"])
SUBSCRIPTIONS = Gauge("galaxy_gateway_subscriptions", "Open Subscribe streams")
DROPPED = Counter("galaxy_gateway_slow_subscribers_dropped_total", "Subscribe streams dropped for falling behind")


class MetricsInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(self, service: str) -> None:
        self._service = service

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: grpc.HandlerCallDetails
    ) -> Any:
        handler = await continuation(details)
        if handler is None:
            return None
        method = str(details.method)
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(method, handler.unary_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    def _unary(self, method: str, behavior: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def observed(request: Any, context: Any) -> Any:
            started, error = time.perf_counter(), None
            try:
                return await behavior(request, context)
            except BaseException as exc:
                error = exc
                raise
            finally:
                self._record(method, context, error, started)

        return observed

    def _stream(self, method: str, behavior: Callable[..., Any]) -> Callable[..., Any]:
        if not inspect.isasyncgenfunction(behavior):
            return self._unary(method, behavior)  # a handler that writes with context.write()

        async def observed(request: Any, context: Any) -> AsyncIterator[Any]:
            started, error = time.perf_counter(), None
            try:
                async for response in behavior(request, context):
                    yield response
            except BaseException as exc:
                error = exc
                raise
            finally:
                self._record(method, context, error, started)

        return observed

    def _record(self, method: str, context: Any, error: BaseException | None, started: float) -> None:
        REQUESTS.labels(self._service, method, _code(context, error)).inc()
        LATENCY.labels(self._service, method).observe(time.perf_counter() - started)


def _code(context: Any, error: BaseException | None) -> str:
    if isinstance(error, asyncio.CancelledError | GeneratorExit):
        return "CANCELLED"
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    return "OK" if error is None else "UNKNOWN"
