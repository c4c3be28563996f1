"""Messages and SMTP clients of the tests: smtplib (run in a thread: the sink shares this loop) and aiosmtplib."""

from __future__ import annotations

import asyncio
import email.policy
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from typing import TypeVar

from tests.unit.sink.running import HOST

T = TypeVar("T")
CLIENT_TIMEOUT = 10.0


def message(
    to: str = "ada@example.com",
    subject: str = "Your code",
    text: str = "Your code is 123456.",
    *,
    sender: str = "galaxy@example.com",
    html: str | None = None,
    **headers: str,
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def wire(msg: EmailMessage) -> bytes:
    """The message as it goes over SMTP (CRLF line ends), what the sink keeps as raw bytes."""
    return msg.as_bytes(policy=email.policy.SMTP)


async def smtp(port: int, session: Callable[[smtplib.SMTP], T], *, client_timeout: float = CLIENT_TIMEOUT) -> T:
    """``session(client)`` on an smtplib connection to the sink (in a worker thread), closed afterwards."""

    def run() -> T:
        with smtplib.SMTP(HOST, port, timeout=client_timeout) as client:
            return session(client)

    return await asyncio.to_thread(run)


async def send(port: int, msg: EmailMessage, to: list[str] | None = None) -> dict[str, tuple[int, bytes]]:
    """smtplib's send_message; the recipients it refused (all refused raises)."""
    return await smtp(port, lambda client: client.send_message(msg, to_addrs=to))
