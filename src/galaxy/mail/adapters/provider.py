"""Providers: ``smtp`` hands the message to an SMTP server (aiosmtplib); ``stub`` only records it.

An SMTP 5xx reply is permanent; a 4xx reply, a timeout or a broken connection is transient.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from email.message import EmailMessage

import aiosmtplib

from galaxy.mail.domain.errors import SendFailed
from galaxy.mail.domain.model import Status, one_line

log = logging.getLogger(__name__)
PHASES = 3


class SmtpProvider:
    status: Status = "sent"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout_seconds: float,
        starttls: bool = False,
        tls: bool = False,
        tls_context: ssl.SSLContext | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        """``tls``: implicit TLS (SMTPS); ``starttls``: upgrade after EHLO; either verifies the server's
        certificate and name with ``tls_context`` (None: the system's CAs)."""
        self._host = host
        self._port = port
        self._timeout = timeout_seconds
        self._starttls = starttls
        self._tls = tls
        self._tls_context = tls_context
        self._username = username
        self._password = password

    async def send(self, message: EmailMessage) -> str:
        try:
            async with asyncio.timeout(PHASES * self._timeout):  # each step has its own timeout, too
                _, answer = await aiosmtplib.send(
                    message,
                    hostname=self._host,
                    port=self._port,
                    start_tls=self._starttls,
                    use_tls=self._tls,
                    tls_context=self._tls_context,
                    username=self._username,
                    password=self._password,
                    timeout=self._timeout,
                )
        except aiosmtplib.SMTPAuthenticationError as exc:  # our credentials, not this message: fixable, keep it
            raise SendFailed(f"SMTP authentication refused ({exc.code})", permanent=False) from None
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise _from_reply(*_first_refusal(exc)) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise _from_reply(exc.code, exc.message) from None
        except (TimeoutError, aiosmtplib.SMTPTimeoutError):
            raise SendFailed("SMTP server did not answer in time", permanent=False) from None
        except (aiosmtplib.SMTPException, OSError) as exc:  # refused or broken connection
            raise SendFailed(f"SMTP connection failed: {type(exc).__name__}", permanent=False) from None
        return one_line(f"accepted: {answer}")


def _first_refusal(exc: aiosmtplib.SMTPRecipientsRefused) -> tuple[int, str]:
    refusal = exc.recipients[0] if exc.recipients else None
    return (refusal.code, refusal.message) if refusal is not None else (550, "recipient refused")


def _from_reply(code: int, message: str) -> SendFailed:
    return SendFailed(one_line(f"SMTP {code} {message}"), permanent=500 <= code < 600)


class StubProvider:
    """Sends nothing: the delivery, rendered and stored, becomes ``recorded`` (read it on the operator surface)."""

    status: Status = "recorded"

    async def send(self, message: EmailMessage) -> str:
        log.info("message recorded, not sent", extra={"message_id": message["Message-ID"]})
        return "recorded by the stub provider"
