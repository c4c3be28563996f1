"""A real SMTP server (aiosmtpd) on 127.0.0.1 in the test's own event loop, scripted per transaction."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, cast

from aiosmtpd.smtp import SMTP

from tests.harness.waits import eventually_async

OK = "250 OK queued"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class Sink:
    """``script``: one action per transaction, consumed in order (then ``ok``): ``ok``, an SMTP reply such as
    ``451 try later`` at DATA, ``rcpt 550 no such user`` at RCPT, ``drop`` (close the connection at DATA) or
    ``hang`` (never answer DATA)."""

    script: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    transactions: int = 0
    port: int = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.script and self.script[0].startswith("rcpt "):
            self.transactions += 1
            return self.script.pop(0).removeprefix("rcpt ")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.transactions += 1
        action = self.script.pop(0) if self.script else "ok"
        if action == "drop":
            server.transport.close()
            return "421 closing"
        if action == "hang":
            await asyncio.Event().wait()
        if action != "ok":
            return action
        message = cast(EmailMessage, BytesParser(policy=policy.default).parsebytes(envelope.original_content))
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return OK

    async def one(self, within: float = 5.0) -> Received:
        """The one message received (waits for it; fails if there are more)."""

        async def check() -> Received:
            assert len(self.received) == 1, f"{len(self.received)} messages received"
            return self.received[0]

        return await eventually_async(check, within=within, what="one message at the SMTP sink")


async def start_sink(sink: Sink, tls: ssl.SSLContext | None = None) -> asyncio.Server:
    """Listening on 127.0.0.1; with ``tls``, implicit TLS (the handshake before the banner)."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, hostname="sink.test", loop=loop), "127.0.0.1", 0, ssl=tls)
    sink.port = int(server.sockets[0].getsockname()[1])
    return server
