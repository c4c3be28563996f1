"""Client of the lab stubs' control API (src/galaxylab/stubs/README.md).

Generic: it knows the control API, not any boundary. Async, like the
contract clients in ``galaxy_contracts.http``::

    async with StubControl(manifest_url, lab_token) as stub:
        await stub.script("POST", r"/v1/accounts/resolve", status=503, times=2)
        ...
        seen = await stub.wait_for_request(lambda r: r.path == "/v1/deliveries", timeout=5)
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel

from galaxy_contracts.http import tls_context
from galaxy_contracts.models import Account, Delivery, Locale

OutageMode = Literal["unavailable", "reset"]


class RecordedRequest(BaseModel):
    """A request the stub received. ``body`` is the parsed JSON body (``None`` if absent or not JSON);
    ``headers`` never include Authorization; ``status`` is ``None`` until answered (or if dropped)."""

    seq: int
    time: datetime
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None
    caller: str | None
    status: int | None = None


class ScriptedResponse(BaseModel):
    id: str
    method: str
    path: str
    times: int
    remaining: int
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = {}
    delay_seconds: float = 0.0


class StubDelivery(Delivery):
    """What the mail stub recorded for one delivery (the contract's Delivery plus the request)."""

    locale: str
    params: dict[str, Any]
    idempotency_key: str
    caller: str


class StubStatus(BaseModel):
    kind: str
    outage: OutageMode | None
    recorded: int
    pending_responses: int


class StubControlError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        request = response.request
        super().__init__(f"{request.method} {request.url.path}: {response.status_code} {response.text}")
        self.status = response.status_code


class RequestNotSeen(AssertionError):
    """``wait_for_request`` found no matching request before its deadline."""


class StubControl:
    """The control API of one stub at ``base_url`` (its main port), with the boundary's lab token."""

    def __init__(
        self,
        base_url: str,
        lab_token: str,
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """``verify``: what an ``https://`` stub's certificate is checked with (the lab's CA)."""
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {lab_token}"},
            timeout=timeout,
            transport=transport,
            verify=tls_context() if verify is True else verify,
        )

    async def __aenter__(self) -> StubControl:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def status(self) -> StubStatus:
        return StubStatus.model_validate((await self._call("GET", "/status")).json())

    async def requests(self, path_prefix: str | None = None) -> list[RecordedRequest]:
        """Recorded requests, oldest first; only those whose path starts with ``path_prefix`` if given."""
        params = {"path_prefix": path_prefix} if path_prefix is not None else {}
        data = (await self._call("GET", "/requests", params=params)).json()
        return [RecordedRequest.model_validate(r) for r in data["requests"]]

    async def clear(self) -> None:
        """Forget the recorded requests."""
        await self._call("DELETE", "/requests")

    async def script(
        self,
        method: str,
        path: str,
        *,
        status: int | None = None,
        body: Any = None,
        times: int = 1,
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> ScriptedResponse:
        """The next ``times`` requests whose method is ``method`` and whose whole path matches the regex
        ``path`` get ``status`` + ``body`` after ``delay`` seconds; without ``status`` they are only delayed."""
        spec = {"method": method, "path": path, "times": times, "delay_seconds": delay, "headers": headers or {}}
        spec |= {k: v for k, v in {"status": status, "body": body}.items() if v is not None}
        return ScriptedResponse.model_validate((await self._call("POST", "/responses", json=spec)).json())

    async def scripts(self) -> list[ScriptedResponse]:
        data = (await self._call("GET", "/responses")).json()
        return [ScriptedResponse.model_validate(s) for s in data["responses"]]

    async def clear_scripts(self) -> None:
        await self._call("DELETE", "/responses")

    async def down(self, mode: OutageMode = "unavailable") -> None:
        """Every contract request fails: 503 ``upstream_unavailable``, or with ``reset`` no answer at all."""
        await self._call("POST", "/down", json={"mode": mode})

    async def up(self) -> None:
        await self._call("POST", "/up")

    async def seed_account(
        self,
        email: str,
        *,
        blocked: bool = False,
        display_name: str | None = None,
        locale: Locale = "en",
        user_id: str | None = None,
        email_enabled: bool = True,
        push_enabled: bool = True,
    ) -> Account:
        """User stub only: put an account in place (409 if the e-mail or id is taken)."""
        seed: dict[str, Any] = {
            "email": email,
            "blocked": blocked,
            "locale": locale,
            "notification_preferences": {"email_enabled": email_enabled, "push_enabled": push_enabled},
        }
        seed |= {k: v for k, v in {"user_id": user_id, "display_name": display_name}.items() if v is not None}
        return Account.model_validate((await self._call("POST", "/accounts", json=seed)).json())

    async def accounts(self) -> list[Account]:
        data = (await self._call("GET", "/accounts")).json()
        return [Account.model_validate(a) for a in data["accounts"]]

    async def deliveries(self) -> list[StubDelivery]:
        """Mail stub only: every delivery recorded, oldest first."""
        data = (await self._call("GET", "/deliveries")).json()
        return [StubDelivery.model_validate(d) for d in data["deliveries"]]

    async def reset(self) -> None:
        """Back to a fresh stub: no recorded requests, scripts, outage, accounts or deliveries."""
        await self._call("POST", "/reset")

    async def wait_for_request(
        self,
        predicate: Callable[[RecordedRequest], bool],
        timeout: float,  # noqa: ASYNC109 - a polling deadline, checked between whole requests
        *,
        path_prefix: str | None = None,
        interval: float = 0.05,
    ) -> RecordedRequest:
        """The first recorded request matching ``predicate``, polling until ``timeout`` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            seen = await self.requests(path_prefix)
            match = next((r for r in seen if predicate(r)), None)
            if match is not None:
                return match
            if time.monotonic() >= deadline:
                summary = ", ".join(f"{r.method} {r.path} -> {r.status}" for r in seen[-10:]) or "nothing"
                raise RequestNotSeen(f"no matching request within {timeout:g}s; last seen: {summary}")
            await asyncio.sleep(min(interval, max(0.0, deadline - time.monotonic())))

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self._http.request(method, f"/_control{path}", **kwargs)
        if response.is_error:
            raise StubControlError(response)
        return response
