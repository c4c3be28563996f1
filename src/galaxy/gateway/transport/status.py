"""Gateway errors as gRPC statuses: a message, and google.rpc details where a client can act on them."""

from __future__ import annotations

import logging
from typing import Any, NoReturn

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from galaxy.gateway.domain.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    GatewayError,
    InvalidArgument,
    NotFound,
    OutOfRange,
    PermissionDenied,
    ResourceExhausted,
    ServiceUnavailable,
    TooManyStarts,
    Unauthenticated,
    WrongCode,
)

log = logging.getLogger(__name__)
DOMAIN = "gateway.galaxy"
INTERNAL_MESSAGE = "unexpected gateway error; see the gateway log"

CODES: dict[type[GatewayError], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    NotFound: grpc.StatusCode.NOT_FOUND,
    PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    OutOfRange: grpc.StatusCode.OUT_OF_RANGE,
    ServiceUnavailable: grpc.StatusCode.UNAVAILABLE,
    DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
}


def code_of(error: GatewayError) -> grpc.StatusCode:
    for kind in type(error).__mro__:
        if kind in CODES:
            return CODES[kind]
    return grpc.StatusCode.INTERNAL


def to_status(error: GatewayError) -> Any:
    """A ``grpc.Status`` carrying ``google.rpc.Status`` (with its details) in the trailing metadata."""
    code = code_of(error)
    status = status_pb2.Status(code=code.value[0], message=error.message)
    for detail in _details(error):
        packed = any_pb2.Any()
        packed.Pack(detail)
        status.details.append(packed)
    return rpc_status.to_status(status)


def _details(error: GatewayError) -> list[Any]:
    if isinstance(error, InvalidArgument):
        violations = [
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations
        ]
        return [error_details_pb2.BadRequest(field_violations=violations)]
    if isinstance(error, WrongCode) and error.remaining_attempts is not None:
        metadata = {"remaining_attempts": str(error.remaining_attempts)}
        return [error_details_pb2.ErrorInfo(reason="WRONG_CODE", domain=DOMAIN, metadata=metadata)]
    if isinstance(error, TooManyStarts):
        retry_delay = duration_pb2.Duration()
        retry_delay.FromMilliseconds(max(0, round(error.retry_after * 1000)))
        return [error_details_pb2.RetryInfo(retry_delay=retry_delay)]
    if isinstance(error, ServiceUnavailable):
        metadata = {"service": error.service}
        return [error_details_pb2.ErrorInfo(reason="DOWNSTREAM_UNAVAILABLE", domain=DOMAIN, metadata=metadata)]
    return []


async def abort(context: grpc.aio.ServicerContext, error: GatewayError) -> NoReturn:
    await context.abort_with_status(to_status(error))
    raise AssertionError("abort_with_status returned")  # pragma: no cover - it always raises


async def abort_internal(context: grpc.aio.ServicerContext, exc: Exception) -> NoReturn:
    log.error("unexpected error in an RPC", exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)
    raise AssertionError("abort returned")  # pragma: no cover - it always raises
