"""Shared client plumbing: auth header, timeouts, problem+json to exceptions."""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Awaitable
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from galaxy_contracts.models import Problem

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class Unavailable(Exception):
    """The callee could not be reached, timed out, or answered 5xx.

    ``reason`` says what the caller saw (``timed out``, ``ConnectError``, ``HTTP 503``); on a 5xx with a
    problem+json body, ``problem`` is that body and ``cause`` its ``detail`` (or ``code``): why the callee
    says it cannot serve, e.g. that its own dependency is down.
    """

    def __init__(self, service: str, reason: str, problem: Problem | None = None) -> None:
        self.service = service
        self.reason = reason
        self.problem = problem
        super().__init__(f"{service} unavailable: {self.cause}")

    @property
    def cause(self) -> str:
        if self.problem is None:
            return self.reason
        return _one_line(self.problem.detail or self.problem.code) or self.reason


class ApiError(Exception):
    """The callee answered a 4xx problem."""

    def __init__(self, service: str, problem: Problem) -> None:
        super().__init__(f"{service}: {problem.status} {problem.code}: {problem.detail or problem.title}")
        self.service = service
        self.problem = problem

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def code(self) -> str:
        return self.problem.code


async def bounded(service: str, budget: float, call: Awaitable[T]) -> T:
    """``call`` (a client method) within ``budget`` seconds; ``Unavailable`` when the callee is down, too slow,
    answered 5xx or answered outside its contract. A 4xx ``ApiError`` passes through for the caller to read.

    The call is not cancelled when the budget ends: it finishes in the background, bounded by the client's own
    httpx timeouts. Cancelling an httpx request while it waits for a pooled connection leaks that connection's
    slot for good (httpcore 1.0.9, encode/httpcore#1093); under load (more so with TLS handshakes) every slot
    leaks and the client answers nothing again until the process restarts."""
    task = asyncio.ensure_future(call)
    try:
        async with asyncio.timeout(budget):
            return await asyncio.shield(task)
    except TimeoutError:
        _finish_in_background(task)
        raise Unavailable(service, f"no answer within {budget:.2f}s") from None
    except ValidationError:
        raise Unavailable(service, "answered outside its contract") from None


_BACKGROUND: set[asyncio.Future[Any]] = set()


def _finish_in_background(task: asyncio.Future[Any]) -> None:
    """Keep a call that outlived its budget referenced until it ends, its outcome read and dropped."""
    _BACKGROUND.add(task)
    task.add_done_callback(_forget)


def _forget(task: asyncio.Future[Any]) -> None:
    _BACKGROUND.discard(task)
    if not task.cancelled():
        task.exception()


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The trust store this process verifies TLS peers with (httpx's default: certifi, or SSL_CERT_FILE),
    built once and shared by every client: httpx would otherwise load the CA bundle again for each client
    it creates, 20-30 ms of CPU even for a client that only ever speaks plain HTTP."""
    return httpx.create_ssl_context()


class ContractClient:
    """Base of the typed clients: one pooled httpx.AsyncClient per callee."""

    service = "service"

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """``verify``: what an ``https://`` callee's certificate is checked with (a context holding the lab's CA;
        ``True``: the system's CAs)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            verify=verify if verify is not True else (tls_context() if _needs_tls(base_url) else False),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self: _C) -> _C:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise Unavailable(self.service, "timed out") from exc
        except httpx.TransportError as exc:
            raise Unavailable(self.service, type(exc).__name__) from exc
        if response.status_code >= 500:
            raise Unavailable(self.service, f"HTTP {response.status_code}", _server_problem(response))
        if response.status_code >= 400:
            raise ApiError(self.service, _problem(response))
        return response

    async def call(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        response = await self.request(method, path, **kwargs)
        return model.model_validate_json(response.content)


_C = TypeVar("_C", bound=ContractClient)


def _needs_tls(base_url: str) -> bool:
    """Only an ``https`` callee gets a verifying TLS context. httpx builds one for every client otherwise, and
    loading the CA bundle into it costs 1-3 MB of each process's memory per client, for a plain-HTTP callee
    that never uses it (the client follows no redirects, so it cannot be sent to another scheme)."""
    return httpx.URL(base_url).scheme != "http"


def _problem(response: httpx.Response) -> Problem:
    try:
        return Problem.model_validate_json(response.content)
    except ValidationError:
        return Problem(
            title=response.reason_phrase or "error",
            status=response.status_code,
            code="non_problem_response",
            detail="the callee answered without a problem+json body",
        )


def _server_problem(response: httpx.Response) -> Problem | None:
    """A 5xx answer's problem body, if it is one (a proxy's HTML page is not)."""
    try:
        return Problem.model_validate_json(response.content)
    except ValidationError:
        return None


_CAUSE_MAX = 200


def _one_line(text: str) -> str:
    """Another service's words, fit for a message: printable, one line, bounded."""
    cleaned = "".join(c if c.isprintable() else " " for c in text).strip()
    return cleaned if len(cleaned) <= _CAUSE_MAX else cleaned[: _CAUSE_MAX - 1] + "…"
