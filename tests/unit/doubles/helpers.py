"""The parity checks' vocabulary: an implementation under test, a contract case and what it must answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from starlette.types import ASGIApp

from galaxy_contracts import SPEC_DIR
from tests.harness.waits import eventually_async

TOKENS = {
    "authsession": "parity-authsession-8c1d",
    "gateway": "parity-gateway-5b2e",
    "notification": "parity-notification-0f7a",
    "lab": "parity-lab-3e9c",
}
OPERATOR_TOKEN = "parity-operator-6d4f"
FOREIGN_TOKEN = "another-boundarys-token-1a2b"
"""A well-formed bearer token that is none of this boundary's credentials."""
SEED_EMAIL = "ada@example.com"
SEED_KEY = "seed-key-0001"
LOGIN_CODE: dict[str, Any] = {
    "to": SEED_EMAIL,
    "template": "auth.login_code",
    "locale": "en",
    "params": {"code": "123456", "expires_in_minutes": 10},
}
UNKNOWN_USER = "u_" + "0" * 32
UNKNOWN_DELIVERY = "d_" + "0" * 32
WITHIN = 5.0
NO_BODY: Any = object()


@dataclass
class Implementation:
    """One side of a pair: ``real`` (the service) or ``stub`` (its lab double); ``known`` is the id of what the
    fixture created through the contract."""

    name: str
    app: ASGIApp
    client: httpx.AsyncClient
    known: str = ""

    async def call(
        self,
        method: str,
        path: str,
        *,
        caller: str | None = "authsession",
        json: Any = NO_BODY,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        token = credential(caller)
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if json is not NO_BODY:
            return await self.client.request(method, path, json=json, headers=sent)
        return await self.client.request(method, path, content=content, headers=sent)


def credential(caller: str | None) -> str | None:
    """``None``: no Authorization; ``operator``: the operator token; ``foreign``: another boundary's token."""
    if caller is None:
        return None
    return {"operator": OPERATOR_TOKEN, "foreign": FOREIGN_TOKEN}.get(caller) or TOKENS[caller]


@dataclass(frozen=True)
class Case:
    """One request to a contract operation and the answer every implementation must give.

    ``path`` may name ``{known}`` (the fixture's id), ``{unknown}`` (well-formed, never created) or a literal.
    ``code`` is the problem's ``code`` (``None`` for a success); ``fields`` the problem's ``errors[].field``
    (sorted); ``body`` top-level members a success must have; ``count`` the length of a delivery list.
    """

    name: str
    method: str
    operation: str
    status: int
    path: str = ""
    code: str | None = None
    fields: tuple[str, ...] = ()
    caller: str | None = "authsession"
    json: Any = NO_BODY
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    count: int | None = None
    contract: bool = True
    """Whether the contract documents this answer (405 and a route-less path are HTTP's, not the contract's)."""

    async def send(self, target: Implementation, unknown: str) -> httpx.Response:
        path = (self.path or self.operation).format(known=target.known, unknown=unknown)
        return await target.call(
            self.method, path, caller=self.caller, json=self.json, content=self.content, headers=self.headers
        )

    def check(self, response: httpx.Response) -> None:
        assert response.status_code == self.status, response.text
        if self.status >= 400:
            assert response.headers["content-type"] == "application/problem+json", response.headers
            problem = response.json()
            assert (problem["status"], problem["code"]) == (self.status, self.code), problem
            assert tuple(sorted(e["field"] for e in problem.get("errors", []))) == self.fields, problem
            return
        answer = response.json()
        assert {name: answer.get(name) for name in self.body} == self.body, answer
        if self.count is not None:
            assert len(answer["deliveries"]) == self.count, answer


class Contract:
    """An OpenAPI document of contracts/http, for checking answers against it."""

    def __init__(self, name: str) -> None:
        self.path: Path = SPEC_DIR / "http" / f"{name}.openapi.yaml"
        self.schema = schemathesis.openapi.from_path(self.path)

    def operations(self) -> set[tuple[str, str]]:
        return {
            (method.upper(), path)
            for path, item in self.schema.raw_schema["paths"].items()
            for method in item
            if method in ("get", "post", "put", "patch", "delete")
        }

    def conforms(self, case: Case, response: httpx.Response) -> None:
        """The status is one the operation documents and the body matches its schema."""
        operation = self.schema[case.operation][case.method]
        documented = operation.definition.raw["responses"]
        assert str(response.status_code) in documented, f"{response.status_code} not documented for {case.name}"
        operation.validate_response(response)


async def until_recorded(target: Implementation) -> None:
    """The fixture's delivery has reached ``recorded`` (Mail Service records it in the background)."""

    async def recorded() -> None:
        view = await target.call("GET", f"/v1/operator/deliveries/{target.known}", caller="operator")
        assert view.status_code == 200, view.text
        assert view.json()["status"] == "recorded", view.text

    await eventually_async(recorded, within=WITHIN, what=f"{target.name} delivery recorded")
