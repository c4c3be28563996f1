"""The HTTP API under ``/api/v1/`` (lab token only): read, search and wait for messages, inject faults."""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from galaxy.common.auth import ServiceTokens, bearer_token
from galaxy.common.problems import ProblemError, read_json, violations
from galaxylab.sink.domain.faults import FaultSpec, TooManyFaults
from galaxylab.sink.domain.mailbox import Query, WaitTimedOut
from galaxylab.sink.domain.messages import Message
from galaxylab.sink.domain.service import Sink

PREFIX = "/api/v1"
MAX_WAIT_SECONDS = 60.0
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # printable ASCII but ':' (RFC 5322 field name)
log = logging.getLogger(__name__)
P = TypeVar("P", bound=BaseModel)
Handler = Callable[[Request], Awaitable[Response]]


class Criteria(BaseModel):
    """Query parameters that select messages (see ``Query``); ``header`` repeats as ``Name=value``."""

    model_config = ConfigDict(extra="forbid")

    to: str | None = Field(default=None, min_length=1, max_length=320)
    sender: str | None = Field(default=None, alias="from", min_length=1, max_length=320)
    subject: str | None = Field(default=None, min_length=1, max_length=500)
    header: list[str] = Field(default_factory=list, max_length=20)
    body: str | None = Field(default=None, min_length=1, max_length=1000)
    after: int = Field(default=0, ge=0)

    @field_validator("header")
    @classmethod
    def _name_equals_value(cls, values: list[str]) -> list[str]:
        for value in values:
            name, sep, _ = value.partition("=")
            if not sep or not _HEADER_NAME.fullmatch(name):
                raise ValueError("each header is Name=value (a header name, '=', the exact value)")
        return values

    def query(self) -> Query:
        pairs = tuple((name, value.strip()) for name, _, value in (h.partition("=") for h in self.header))
        return Query(self.to, self.sender, self.subject, pairs, self.body, self.after)


class SearchParams(Criteria):
    limit: int = Field(default=50, ge=1, le=1000)


class WaitParams(Criteria):
    count: int = Field(default=1, ge=1, le=1000)
    timeout: float = Field(default=10.0, gt=0.0, le=MAX_WAIT_SECONDS)


class AttemptParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after: int = Field(default=0, ge=0)


class LabToken:
    """The API takes the lab's entry of the service-tokens file: 401 without a known token, 403 for
    another caller's."""

    def __init__(self, tokens: ServiceTokens, lab_token: str) -> None:
        self._tokens = tokens
        self._lab = lab_token.encode()

    def check(self, request: Request) -> None:
        presented = bearer_token(request)
        if presented is None:
            raise ProblemError(401, "unauthorized", "missing bearer lab token")
        if hmac.compare_digest(self._lab, presented.encode()):
            return
        try:
            self._tokens.caller(request)
        except ProblemError:
            raise ProblemError(401, "unauthorized", "lab token not accepted") from None
        raise ProblemError(403, "forbidden", "the SMTP sink's API takes the lab token only")


class Api:
    def __init__(self, sink: Sink, auth: LabToken) -> None:
        self._sink = sink
        self._auth = auth

    def routes(self) -> list[Route]:
        table: list[tuple[str, Handler, str]] = [
            ("/messages", self.search, "GET"),
            ("/messages", self.delete_messages, "DELETE"),
            ("/messages/{message_id}", self.message, "GET"),
            ("/messages/{message_id}/raw", self.raw, "GET"),
            ("/wait", self.wait, "GET"),
            ("/faults", self.faults, "GET"),
            ("/faults", self.add_fault, "POST"),
            ("/faults", self.clear_faults, "DELETE"),
            ("/faults/{fault_id}", self.remove_fault, "DELETE"),
            ("/attempts", self.attempts, "GET"),
            ("/attempts", self.clear_attempts, "DELETE"),
            ("/status", self.status, "GET"),
            ("/reset", self.reset, "POST"),
        ]
        return [Route(PREFIX + path, self._guarded(handler), methods=[method]) for path, handler, method in table]

    def _guarded(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            self._auth.check(request)
            return await handler(request)

        return guarded

    async def search(self, request: Request) -> Response:
        params = query_params(request, SearchParams)
        found = self._sink.mailbox.find(params.query(), params.limit)
        return JSONResponse({"messages": [summary(m) for m in found]})

    async def delete_messages(self, _: Request) -> Response:
        self._sink.mailbox.clear()
        log.info("messages deleted")
        return Response(status_code=204)

    async def message(self, request: Request) -> Response:
        return JSONResponse(detail(self._message(request)))

    async def raw(self, request: Request) -> Response:
        return Response(self._message(request).raw, media_type="message/rfc822")

    async def wait(self, request: Request) -> Response:
        params = query_params(request, WaitParams)
        waiting = asyncio.ensure_future(self._sink.mailbox.wait(params.query(), params.count, params.timeout))
        gone = asyncio.ensure_future(_disconnected(request))
        await asyncio.wait({waiting, gone}, return_when=asyncio.FIRST_COMPLETED)
        gone.cancel()
        if not waiting.done():  # nobody is left to answer
            waiting.cancel()
            return Response(status_code=204)
        try:
            found = waiting.result()
        except WaitTimedOut as exc:
            raise ProblemError(408, "wait_timeout", f"no match in time: {exc}") from None
        return JSONResponse({"messages": [detail(m) for m in found]})

    async def faults(self, _: Request) -> Response:
        return JSONResponse({"faults": [_fault_json(f) for f in self._sink.faults.pending()]})

    async def add_fault(self, request: Request) -> Response:
        spec = await read_json(request, FaultSpec, strict=True)
        try:
            fault = self._sink.faults.add(spec)
        except TooManyFaults as exc:
            raise ProblemError(409, "too_many_faults", str(exc)) from exc
        log.info("fault added", extra={"fault": _fault_json(fault)})
        return JSONResponse(_fault_json(fault), status_code=201)

    async def clear_faults(self, _: Request) -> Response:
        self._sink.faults.clear()
        log.info("faults cleared")
        return Response(status_code=204)

    async def remove_fault(self, request: Request) -> Response:
        if not self._sink.faults.remove(request.path_params["fault_id"]):
            raise ProblemError(404, "fault_not_found", "no pending fault with this id")
        return Response(status_code=204)

    async def attempts(self, request: Request) -> Response:
        params = query_params(request, AttemptParams)
        attempts = self._sink.attempts.all(params.after)
        return JSONResponse({"attempts": [a.model_dump(mode="json") for a in attempts]})

    async def clear_attempts(self, _: Request) -> Response:
        self._sink.attempts.clear()
        return Response(status_code=204)

    async def status(self, _: Request) -> Response:
        mailbox = self._sink.mailbox
        return JSONResponse(
            {
                "messages": len(mailbox),
                "evicted": mailbox.evicted,
                "last_seq": mailbox.last_seq,
                "max_messages": mailbox.limit,
                "waiters": mailbox.waiters,
                "attempts": len(self._sink.attempts),
                "last_attempt_seq": self._sink.attempts.last_seq,
                "faults": len(self._sink.faults.pending()),
            }
        )

    async def reset(self, _: Request) -> Response:
        self._sink.reset()
        log.info("reset")
        return Response(status_code=204)

    def _message(self, request: Request) -> Message:
        message = self._sink.mailbox.get(request.path_params["message_id"])
        if message is None:
            raise ProblemError(404, "message_not_found", "no message with this id (deleted, evicted or never received)")
        return message


def query_params(request: Request, model: type[P]) -> P:
    """The query string as ``model``: 400 for an unknown or repeated parameter, 422 for an invalid value."""
    data: dict[str, Any] = {}
    for name in request.query_params:
        values = request.query_params.getlist(name)
        if name == "header":
            data[name] = values
        elif len(values) > 1:
            raise ProblemError(400, "malformed_query", f"parameter {name!r} given more than once")
        else:
            data[name] = values[0]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        if any(err["type"] == "extra_forbidden" for err in exc.errors()):
            raise ProblemError(400, "malformed_query", "unknown query parameter", violations(exc)) from None
        raise ProblemError(422, "validation_failed", "one or more parameters are invalid", violations(exc)) from None


async def _disconnected(request: Request) -> None:
    """Returns once the client has gone (the request has no body to read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def summary(message: Message) -> dict[str, Any]:
    parsed = message.parsed
    return {
        "id": message.id,
        "seq": message.seq,
        "received": message.received.isoformat(),
        "mail_from": message.mail_from,
        "rcpt_tos": list(message.rcpt_tos),
        "size": message.size,
        "message_id": parsed.message_id,
        "subject": parsed.subject,
        "from": parsed.sender,
        "to": list(parsed.to),
        "cc": list(parsed.cc),
        "date": parsed.date,
    }


def detail(message: Message) -> dict[str, Any]:
    parsed = message.parsed
    headers = [{"name": h.name, "value": h.value} for h in parsed.headers]
    return summary(message) | {"headers": headers, "text": parsed.text, "html": parsed.html}


def _fault_json(fault: BaseModel) -> dict[str, Any]:
    return fault.model_dump(mode="json")
