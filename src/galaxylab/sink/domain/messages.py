"""Received messages: what the sink keeps, how they read and how they are found."""

from __future__ import annotations

import email
import email.policy
import email.utils
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.message import Message as RawEmail
from functools import cached_property


@dataclass(frozen=True)
class Header:
    name: str
    value: str


@dataclass(frozen=True)
class Parsed:
    """What the raw bytes say, read once. A malformed message still reads: parts that cannot be decoded
    are ``None`` and broken header values are kept as they came."""

    headers: tuple[Header, ...]
    subject: str | None
    message_id: str | None
    sender: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: str | None
    text: str | None
    html: str | None

    def header(self, name: str) -> list[str]:
        wanted = name.lower()
        return [h.value for h in self.headers if h.name.lower() == wanted]


@dataclass(frozen=True)
class Message:
    """One message as it came in: the envelope and the raw bytes of DATA."""

    id: str
    seq: int
    received: datetime
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.raw)

    @cached_property
    def parsed(self) -> Parsed:
        return parse(self.raw)

    def recipients(self) -> set[str]:
        """Envelope recipients and To/Cc addresses, lower-cased."""
        return {a.lower() for a in (*self.rcpt_tos, *self.parsed.to, *self.parsed.cc)}

    def senders(self) -> set[str]:
        """The envelope sender and the From address, lower-cased."""
        return {a.lower() for a in (self.mail_from, self.parsed.sender) if a}


def new_message(seq: int, mail_from: str, rcpt_tos: tuple[str, ...], raw: bytes) -> Message:
    return Message(f"m_{secrets.token_hex(8)}", seq, datetime.now(UTC), mail_from, rcpt_tos, raw)


def parse(raw: bytes) -> Parsed:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    headers = tuple(Header(name, _header_text(message, name, value)) for name, value in message.raw_items())
    return Parsed(
        headers=headers,
        subject=_first(headers, "subject"),
        message_id=_first(headers, "message-id"),
        sender=next(iter(_addresses(headers, "from")), None),
        to=_addresses(headers, "to"),
        cc=_addresses(headers, "cc"),
        date=_first(headers, "date"),
        text=_body(message, "plain"),
        html=_body(message, "html"),
    )


def _header_text(message: EmailMessage, name: str, value: str) -> str:
    """The decoded (RFC 2047) value, unfolded; the raw value if the policy cannot read it."""
    try:
        decoded = str(message.policy.header_fetch_parse(name, value))
    except Exception:  # noqa: BLE001 - a broken header is kept as it came, never a failure
        decoded = value
    return " ".join(decoded.split())


def _first(headers: tuple[Header, ...], name: str) -> str | None:
    return next((h.value for h in headers if h.name.lower() == name), None)


def _addresses(headers: tuple[Header, ...], name: str) -> tuple[str, ...]:
    values = [h.value for h in headers if h.name.lower() == name]
    return tuple(address for _, address in email.utils.getaddresses(values) if address)


def _body(message: EmailMessage, subtype: str) -> str | None:
    """The message's ``text/<subtype>`` body (the one a mail client would show), decoded."""
    try:
        part = message.get_body(preferencelist=(subtype,))
    except Exception:  # noqa: BLE001 - a malformed MIME tree has no readable body
        return None
    if part is None or part.get_content_type() != f"text/{subtype}":
        return None
    return _content(part)


def _content(part: RawEmail) -> str | None:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - an unknown charset or a broken transfer encoding
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else None
    return content if isinstance(content, str) else None
