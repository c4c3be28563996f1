"""Reading gRPC failures the way a client would: status code, message, google.rpc details
(BadRequest field violations, ErrorInfo, RetryInfo)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


async def failure(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    """Await ``call`` and return the error it failed with; an answer instead fails the test."""
    try:
        answer = await call
    except grpc.aio.AioRpcError as error:
        return error
    # The answer may hold a session token: name its type only.
    raise AssertionError(f"expected the call to fail, it answered a {type(answer).__name__}")


def field_violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    """``{field: description}`` of the google.rpc.BadRequest detail, empty when there is none."""
    status = rpc_status.from_call(error)
    if status is None:
        return {}
    violations: dict[str, str] = {}
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            violations |= {v.field: v.description for v in bad_request.field_violations}
    return violations


def error_info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo | None:
    """The google.rpc.ErrorInfo detail (reason, domain, metadata), None when there is none."""
    status = rpc_status.from_call(error)
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


def retry_delay(error: grpc.aio.AioRpcError) -> float | None:
    """Seconds of the google.rpc.RetryInfo detail's ``retry_delay``, None when there is none."""
    status = rpc_status.from_call(error)
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return float(info.retry_delay.ToNanoseconds()) / 1e9
    return None


def names_field(violations: dict[str, str], name: str) -> bool:
    """A violation names ``name``, also within a longer path (``account.locale``, ``update_mask.paths``)."""
    return any(f == name or f.endswith(f".{name}") or f.startswith((f"{name}.", f"{name}[")) for f in violations)


def describe(error: grpc.aio.AioRpcError) -> str:
    return f"{error.code().name}: {error.details()}"
