"""In-process doubles of User Service and Mail Service (httpx.MockTransport handlers) and a settable clock."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

USER_TOKEN = "user-caller-token"
MAIL_TOKEN = "mail-caller-token"


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _problem(status: int, code: str, detail: str | None = None) -> httpx.Response:
    body = {"type": "about:blank", "title": "error", "status": status, "code": code}
    if detail is not None:
        body["detail"] = detail
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


@dataclass
class FakeUserService:
    """POST /v1/accounts/resolve; creates an account once per e-mail (case-insensitive)."""

    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)
    calls: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    unavailable_because: str | None = None
    """When set, resolve answers 503 with this problem ``detail`` (up, but its own store is not)."""
    gate: asyncio.Event | None = None
    called: asyncio.Event = field(default_factory=asyncio.Event)
    clock: Callable[[], float] = time.time
    """Its own clock: an account's ``created_at``."""

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def seed(self, email: str) -> str:
        return self._account(email.lower())["user_id"]

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"Bearer {USER_TOKEN}":
            return _problem(401, "unauthorized")
        if request.url.path != "/v1/accounts/resolve" or request.method != "POST":
            return _problem(404, "not_found")
        body = json.loads(request.content)
        self.calls.append(body)
        self.called.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if self.unavailable_because is not None:
            return _problem(503, "upstream_unavailable", self.unavailable_because)
        email = body["email"].lower()
        created = email not in self.accounts
        account = self._account(email, body.get("locale"))
        account["blocked"] = email in self.blocked
        return httpx.Response(200, json={"account": account, "created": created})

    def _account(self, email: str, locale: str | None = None) -> dict[str, Any]:
        if email not in self.accounts:
            self.accounts[email] = {
                "user_id": "u_" + secrets.token_hex(16),
                "email": email,
                "display_name": "",
                "locale": locale or "en",
                "notification_preferences": {"email_enabled": True, "push_enabled": True},
                "blocked": False,
                "created_at": _rfc3339(self.clock()),
                "updated_at": _rfc3339(self.clock()),
            }
        return self.accounts[email]


@dataclass
class Sent:
    to: str
    template: str
    locale: str
    params: dict[str, Any]
    idempotency_key: str
    authorization: str


@dataclass
class FakeMailService:
    """POST /v1/deliveries; records every accepted mail."""

    sent: list[Sent] = field(default_factory=list)
    down: bool = False
    refuse_with: int | None = None

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if self.refuse_with is not None:
            return _problem(self.refuse_with, "refused")
        if request.url.path != "/v1/deliveries" or request.method != "POST":
            return _problem(404, "not_found")
        body = json.loads(request.content)
        self.sent.append(
            Sent(
                to=body["to"],
                template=body["template"],
                locale=body["locale"],
                params=body["params"],
                idempotency_key=request.headers.get("idempotency-key", ""),
                authorization=request.headers.get("authorization", ""),
            )
        )
        delivery = {
            "delivery_id": "d_" + secrets.token_hex(16),
            "status": "queued",
            "to": body["to"],
            "template": body["template"],
            "created_at": "2025-01-01T00:00:00Z",
        }
        return httpx.Response(202, json=delivery)

    def last_code(self) -> str:
        return str(self.sent[-1].params["code"])
