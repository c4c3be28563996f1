"""Client of the lab's SMTP sink API (src/galaxylab/sink/README.md).

Generic: it knows the sink's API, not any boundary. Waiting is the sink's job
(``GET /api/v1/wait`` blocks until the mail is there), so a test never polls::

    async with SmtpSink(manifest_api_url, lab_token) as sink:
        mark = await sink.mark()
        ...  # something that sends mail
        mail = await sink.wait_one(to="ada@example.com", after=mark, timeout=10)
        await sink.refuse(451, times=2)        # the next two messages get 451
        tried = await sink.attempts(after=...)  # what the sender tried, refused or not
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from galaxy_contracts.http import tls_context

Stage = Literal["rcpt", "data"]
Outcome = Literal["accepted", "refused", "dropped", "abandoned"]
WAIT_GRACE_SECONDS = 5.0
Params = list[tuple[str, str | int | float | bool | None]]


class MailHeader(BaseModel):
    name: str
    value: str


class SinkMessageSummary(BaseModel):
    """One received message as the list and search show it. ``mail_from`` / ``rcpt_tos`` are the SMTP
    envelope; ``sender`` (JSON ``from``), ``to``, ``cc`` the header addresses."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    seq: int
    received: datetime
    mail_from: str
    rcpt_tos: list[str]
    size: int
    message_id: str | None
    subject: str | None
    sender: str | None = Field(alias="from")
    to: list[str]
    cc: list[str]
    date: str | None


class SinkMessage(SinkMessageSummary):
    """A message read in full: headers in order (decoded, unfolded), the text and HTML bodies."""

    headers: list[MailHeader]
    text: str | None
    html: str | None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), ``None`` if absent."""
        wanted = name.lower()
        return next((h.value for h in self.headers if h.name.lower() == wanted), None)


class Fault(BaseModel):
    id: str
    stage: Stage
    code: int | None
    text: str | None
    drop: bool
    delay_ms: int
    recipient: str | None
    times: int | None
    remaining: int | None
    probability: float
    seed: int | None
    fired: int


class Attempt(BaseModel):
    """A transaction's end (``stage="data"``) or a faulted RCPT TO, as the sink answered it."""

    seq: int
    time: datetime
    stage: Stage
    mail_from: str
    rcpt_tos: list[str]
    size: int | None
    outcome: Outcome
    code: int | None
    text: str | None
    message_id: str | None
    fault_id: str | None


class SinkStatus(BaseModel):
    messages: int
    evicted: int
    last_seq: int
    max_messages: int
    waiters: int
    attempts: int
    last_attempt_seq: int
    faults: int


class SinkError(Exception):
    """The API answered an error (its problem ``code`` when there is one)."""

    def __init__(self, response: httpx.Response) -> None:
        request = response.request
        super().__init__(f"{request.method} {request.url.path}: {response.status_code} {response.text}")
        self.status = response.status_code
        self.code = _problem_code(response)


class MailNotSeen(AssertionError):
    """``wait`` found fewer matching messages than asked for before its timeout."""


class SmtpSink:
    """The API of one SMTP sink at ``base_url`` (its API port), with the boundary's lab token."""

    def __init__(
        self,
        base_url: str,
        lab_token: str,
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """``verify``: what an ``https://`` API (the lab's TLS on) is checked with, the lab's CA
        (``LabSecrets.verify()``); ``True``: the process's shared trust store."""
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {lab_token}"},
            timeout=timeout,
            transport=transport,
            verify=tls_context() if verify is True else verify,
        )

    async def __aenter__(self) -> SmtpSink:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def status(self) -> SinkStatus:
        return SinkStatus.model_validate((await self._call("GET", "/status")).json())

    async def mark(self) -> int:
        """The current ``last_seq``: pass it as ``after`` to see only what arrives from now on."""
        return (await self.status()).last_seq

    async def messages(
        self,
        *,
        limit: int = 50,
        to: str | None = None,
        sender: str | None = None,
        subject: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: str | None = None,
        after: int | None = None,
    ) -> list[SinkMessageSummary]:
        """Matching messages, newest first (all of them without criteria), at most ``limit``.

        ``to``/``sender``: an address of the envelope or of To/Cc/From (exact, case-insensitive);
        ``subject``/``body``: case-insensitive substrings; ``headers``: exact values by name;
        ``after``: only messages with a greater ``seq``.
        """
        params = [*_criteria(to, sender, subject, headers, body, after), ("limit", limit)]
        data = (await self._call("GET", "/messages", params=params)).json()
        return [SinkMessageSummary.model_validate(m) for m in data["messages"]]

    async def message(self, message_id: str) -> SinkMessage:
        return SinkMessage.model_validate((await self._call("GET", f"/messages/{message_id}")).json())

    async def raw(self, message_id: str) -> bytes:
        """The message's bytes as received (after DATA's dot-unstuffing)."""
        return (await self._call("GET", f"/messages/{message_id}/raw")).content

    async def delete_messages(self) -> None:
        await self._call("DELETE", "/messages")

    async def wait(
        self,
        *,
        to: str | None = None,
        sender: str | None = None,
        subject: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: str | None = None,
        after: int | None = None,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - the sink's own deadline, sent as a parameter
    ) -> list[SinkMessage]:
        """The first ``count`` matching messages, oldest first, as soon as the sink holds them (already
        there or arriving); ``MailNotSeen`` naming what did arrive if they are not there within ``timeout``
        seconds (at most 60)."""
        params = _criteria(to, sender, subject, headers, body, after)
        params += [("count", count), ("timeout", timeout)]
        response = await self._http.get("/api/v1/wait", params=params, timeout=timeout + WAIT_GRACE_SECONDS)
        if response.status_code == 408:
            recent = await self.messages(limit=10)
            seen = "; ".join(f"{m.rcpt_tos} {m.subject!r}" for m in recent) or "nothing"
            detail = response.json().get("detail", "")
            raise MailNotSeen(f"no mail matching {dict(params)} in time ({detail}); latest received: {seen}")
        if response.is_error:
            raise SinkError(response)
        return [SinkMessage.model_validate(m) for m in response.json()["messages"]]

    async def wait_one(self, **criteria: Any) -> SinkMessage:
        """``wait`` for one message and return it."""
        (message,) = await self.wait(count=1, **criteria)
        return message

    async def fault(
        self,
        *,
        code: int | None = None,
        text: str | None = None,
        drop: bool = False,
        delay_ms: int = 0,
        stage: Stage = "data",
        recipient: str | None = None,
        times: int | None = None,
        probability: float = 1.0,
        seed: int | None = None,
    ) -> Fault:
        """Inject a fault (see the README): after ``delay_ms``, reply ``code`` + ``text`` or ``drop`` the
        connection, at the end of DATA or at RCPT TO, for ``recipient`` or every one, ``times`` times (``None``:
        until cleared), each time with ``probability`` (``seed``: repeatable draws)."""
        spec: dict[str, Any] = {"stage": stage, "drop": drop, "delay_ms": delay_ms, "probability": probability}
        optional = {"code": code, "text": text, "recipient": recipient, "times": times, "seed": seed}
        spec |= {k: v for k, v in optional.items() if v is not None}
        return Fault.model_validate((await self._call("POST", "/faults", json=spec)).json())

    async def refuse(self, code: int, text: str | None = None, *, times: int | None = 1, **options: Any) -> Fault:
        """The next ``times`` messages (default one) are refused with ``code`` (4xx or 5xx)."""
        return await self.fault(code=code, text=text, times=times, **options)

    async def drop(self, *, times: int | None = 1, **options: Any) -> Fault:
        """The next ``times`` messages get their connection closed instead of a reply."""
        return await self.fault(drop=True, times=times, **options)

    async def delay(self, delay_ms: int, *, times: int | None = 1, **options: Any) -> Fault:
        """The next ``times`` replies come ``delay_ms`` late (then as usual, or ``code=`` / ``drop=``)."""
        return await self.fault(delay_ms=delay_ms, times=times, **options)

    async def faults(self) -> list[Fault]:
        data = (await self._call("GET", "/faults")).json()
        return [Fault.model_validate(f) for f in data["faults"]]

    async def remove_fault(self, fault_id: str) -> None:
        await self._call("DELETE", f"/faults/{fault_id}")

    async def clear_faults(self) -> None:
        await self._call("DELETE", "/faults")

    async def attempts(self, *, after: int = 0) -> list[Attempt]:
        """Every attempt the sink answered, oldest first; only those with a greater ``seq`` than ``after``."""
        data = (await self._call("GET", "/attempts", params={"after": after})).json()
        return [Attempt.model_validate(a) for a in data["attempts"]]

    async def clear_attempts(self) -> None:
        await self._call("DELETE", "/attempts")

    async def reset(self) -> None:
        """Back to an empty sink: no messages, attempts or faults."""
        await self._call("POST", "/reset")

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self._http.request(method, f"/api/v1{path}", **kwargs)
        if response.is_error:
            raise SinkError(response)
        return response


def _criteria(
    to: str | None,
    sender: str | None,
    subject: str | None,
    headers: Mapping[str, str] | None,
    body: str | None,
    after: int | None,
) -> Params:
    single = {"to": to, "from": sender, "subject": subject, "body": body, "after": after}
    params: Params = [(name, value) for name, value in single.items() if value is not None]
    return params + [("header", f"{name}={value}") for name, value in (headers or {}).items()]


def _problem_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None
