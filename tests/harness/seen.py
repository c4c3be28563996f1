"""Secrets the suites see (session tokens, login codes), recorded for the secret audit.

``galaxylab audit`` greps every output of the lab for every secret; the lab's own secrets are in its
secret files, but the per-login ones exist only in the flows the suites drive. The harness records
them here: one JSON line ``{"kind", "value"}`` per secret in ``<state dir>/seen/<pid>.jsonl``
(directory 0700, files 0600; the audit never searches it). The gateway client of ``clients()``
records every successful ConfirmLogin (its code and session token) through a gRPC interceptor, and
the session minter every token it signs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import grpc

from tests.harness.manifest import state_dir

SEEN_DIR = "seen"
CONFIRM_LOGIN = "/galaxy.gateway.v1.GatewayService/ConfirmLogin"


def record(kind: str, value: str) -> None:
    if not value:
        return
    directory = state_dir() / SEEN_DIR
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / f"{os.getpid()}.jsonl"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(descriptor, "a") as handle:
        handle.write(json.dumps({"kind": kind, "value": value}) + "\n")


class SeenLogins(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Records the code and the session token of every ConfirmLogin that succeeds."""

    async def intercept_unary_unary(
        self, continuation: Callable[[Any, Any], Any], client_call_details: Any, request: Any
    ) -> Any:
        call = await continuation(client_call_details, request)
        method = client_call_details.method
        if (method.decode() if isinstance(method, bytes) else method) != CONFIRM_LOGIN:
            return call
        try:
            response = await call
        except grpc.aio.AioRpcError:
            return call
        record("login code", request.code)
        record("session token", response.session_token)
        return call
