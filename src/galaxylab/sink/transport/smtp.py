"""The SMTP side: aiosmtpd's protocol on an asyncio server in the process's own loop.

aiosmtpd speaks the protocol (EHLO, SIZE, 8BITMIME, SMTPUTF8, RSET, several recipients,
dot-unstuffing); the handler hands each RCPT TO and each finished DATA to the domain
and turns its ``Reply`` into the SMTP answer, or into a closed connection.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any, AnyStr

from aiosmtpd.smtp import SMTP, Envelope, Session

from galaxylab.sink import metrics
from galaxylab.sink.domain.service import Reply, Sink

HOSTNAME = "galaxylab-smtp-sink"
IDENT = "ESMTP galaxylab SMTP sink"
log = logging.getLogger(__name__)


class SinkHandler:
    """aiosmtpd's handler hooks (``handle_<COMMAND>``): parse nothing, call the domain, answer."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink

    async def handle_EHLO(
        self, server: SinkProtocol, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        """aiosmtpd reads pipelined commands in order but does not say so; the last line stays ``250 HELP``."""
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(
        self, server: SinkProtocol, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = await self._sink.recipient(envelope.mail_from or "", address)
        if reply.accepted:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(options)
        metrics.count_reply("rcpt", reply)
        return server.answer(reply)

    async def handle_DATA(self, server: SinkProtocol, session: Session, envelope: Envelope) -> str:
        raw: bytes = envelope.original_content or b""
        reply = await self._sink.message(envelope.mail_from or "", list(envelope.rcpt_tos), raw)
        metrics.count_reply("data", reply)
        return server.answer(reply)


class SinkProtocol(SMTP):
    """aiosmtpd's SMTP protocol that can also end a session without answering."""

    def __init__(self, handler: SinkHandler, sessions: set[SinkProtocol], **options: Any) -> None:
        super().__init__(handler, **options)
        self._sessions = sessions
        self._dropped = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._sessions.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._sessions.discard(self)
        super().connection_lost(error)

    def answer(self, reply: Reply) -> str:
        if reply.drop:
            self.close()
        return reply.line

    def close(self) -> None:
        """Close the connection; whatever aiosmtpd still answers in this session is not sent."""
        self._dropped = True
        if self.transport is not None:
            self.transport.close()

    async def push(self, status: AnyStr) -> None:
        if not self._dropped:
            await super().push(status)


class SmtpListener:
    """The SMTP server of one sink: started on a host and port (0 picks one), stopped with its sessions."""

    def __init__(self, sink: Sink, max_message_bytes: int) -> None:
        self._handler = SinkHandler(sink)
        self._max_message_bytes = max_message_bytes
        self._sessions: set[SinkProtocol] = set()
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> int:
        """Listen; returns the bound port. With ``tls``, implicit TLS (SMTPS): the handshake comes first, so a
        client speaking plain text never gets a banner."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, host, port, ssl=tls)
        return int(self._server.sockets[0].getsockname()[1])

    def _protocol(self) -> SinkProtocol:
        return SinkProtocol(
            self._handler,
            self._sessions,
            data_size_limit=self._max_message_bytes,
            enable_SMTPUTF8=True,
            hostname=HOSTNAME,
            ident=IDENT,
            loop=asyncio.get_running_loop(),
        )

    async def stop(self) -> None:
        """Stop listening and end every open session."""
        if self._server is None:
            return
        self._server.close()
        for session in list(self._sessions):
            session.close()
        await self._server.wait_closed()
        self._server = None
