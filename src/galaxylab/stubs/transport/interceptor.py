"""In front of the contract routes: record each request, then apply an outage or a scripted answer.

Control requests (``/_control/...``) pass straight through: they are neither
recorded nor affected by outages or scripts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import struct
from contextlib import suppress
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from galaxy.common.auth import ServiceTokens
from galaxy.common.metrics import MetricsMiddleware
from galaxy.common.problems import ProblemError, problem_response
from galaxylab.stubs.domain.control import ControlState, RecordedRequest, Script
from galaxylab.stubs.transport.control import PREFIX

MAX_BODY_BYTES = 1024 * 1024
UNRECORDED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
DISCONNECT_GRACE_SECONDS = 1.0
log = logging.getLogger(__name__)


class Interceptor:
    def __init__(self, app: ASGIApp, state: ControlState, tokens: ServiceTokens, service: str) -> None:
        self.app = MetricsMiddleware(app, service)
        self.state = state
        self.tokens = tokens
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_control(scope["path"]):
            await self.app(scope, receive, send)
            return
        transport = _transport_of(send)
        body = await _read_body(receive)
        entry = self._record(scope, body)
        send = _noting_status(entry, send)
        replay = _replaying(body or b"", receive)
        if body is None:
            await self._answer(problem_response(413, "payload_too_large", "body over 1 MiB"), scope, replay, send)
        elif self.state.outage == "reset":
            await _drop(transport, receive)
        elif self.state.outage == "unavailable":
            problem = problem_response(503, "upstream_unavailable", f"{self.service} is down (lab outage)")
            await self._answer(problem, scope, replay, send)
        else:
            await self._scripted_or_default(scope, receive, replay, send)

    async def _scripted_or_default(self, scope: Scope, receive: Receive, replay: Receive, send: Send) -> None:
        """``receive`` (body already read) tells when the caller leaves during a delay; ``replay`` feeds the app."""
        script = self.state.scripts.take(scope["method"], scope["path"])
        if script is not None and script.delay_seconds and not await _delay(script.delay_seconds, receive):
            log.info("caller left during a scripted delay", extra={"path": scope["path"]})
        elif script is None or script.status is None:
            await self.app(scope, replay, send)
        else:
            await self._answer(scripted_response(script), scope, replay, send)

    async def _answer(self, response: Response, scope: Scope, receive: Receive, send: Send) -> None:
        await MetricsMiddleware(response, self.service)(scope, receive, send)

    def _record(self, scope: Scope, body: bytes | None) -> RecordedRequest:
        request = Request(scope)
        entry = self.state.recorder.record(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers={k: v for k, v in request.headers.items() if k not in UNRECORDED_HEADERS},
            body=_json_or_none(body),
            caller=self._caller(request),
        )
        log.debug("recorded %s %s", entry.method, entry.path, extra={"caller": entry.caller})
        return entry

    def _caller(self, request: Request) -> str | None:
        try:
            return self.tokens.caller(request)
        except ProblemError:
            return None


def scripted_response(script: Script) -> Response:
    status = script.status
    assert status is not None
    if status in (204, 304) or (script.body is None and status < 400):
        return Response(status_code=status, headers=script.headers)
    if script.body is None:
        return problem_response(status, "scripted", "scripted response", headers=script.headers)
    media_type = "application/problem+json" if status >= 400 else "application/json"
    return JSONResponse(script.body, status_code=status, media_type=media_type, headers=script.headers)


def _is_control(path: str) -> bool:
    return path == PREFIX or path.startswith(f"{PREFIX}/")


def _transport_of(send: Send) -> asyncio.Transport | None:
    """The connection under uvicorn's ``send`` (a bound method of its request cycle), if any."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    return transport if isinstance(transport, asyncio.Transport) else None


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or ``None`` when it is over the limit."""
    body = bytearray()
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > MAX_BODY_BYTES:
            return None
        if message["type"] != "http.request" or not message.get("more_body", False):
            return bytes(body)


def _json_or_none(body: bytes | None) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the app, then defers to the connection."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if not pending:
            return await receive()
        pending = False
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _noting_status(entry: RecordedRequest, send: Send) -> Send:
    async def noting(message: Message) -> None:
        if message["type"] == "http.response.start":
            entry.status = message["status"]
        await send(message)

    return noting


async def _disconnected(receive: Receive) -> None:
    """Returns once the client has gone (the body has been read already)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _delay(seconds: float, receive: Receive) -> bool:
    """Wait ``seconds``; ``False`` as soon as the caller gives up (e.g. its timeout fired)."""
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        done, _ = await asyncio.wait({gone}, timeout=seconds)
        return not done
    finally:
        gone.cancel()
        await asyncio.wait({gone})


async def _drop(transport: asyncio.Transport | None, receive: Receive) -> None:
    """Reset the connection without an answer (RST, so the caller sees ECONNRESET)."""
    if transport is None:
        raise ConnectionResetError("the stub dropped the connection (outage mode reset)")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    with suppress(TimeoutError):
        async with asyncio.timeout(DISCONNECT_GRACE_SECONDS):
            await _disconnected(receive)
