"""Shared client plumbing: auth header, timeouts, problem+json to exceptions."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from galaxy_contracts.models import Problem

M = TypeVar("M", bound=BaseModel)


class Unavailable(Exception):
    """The callee could not be reached, timed out, or answered 5xx."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} unavailable: {reason}")
        self.service = service
        self.reason = reason


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
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout, transport=transport)

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
            raise Unavailable(self.service, f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise ApiError(self.service, _problem(response))
        return response

    async def call(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        response = await self.request(method, path, **kwargs)
        return model.model_validate_json(response.content)


_C = TypeVar("_C", bound=ContractClient)


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
