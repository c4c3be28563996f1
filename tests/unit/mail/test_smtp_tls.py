"""The smtp provider over TLS (``SMTP_TLS``, the lab's sink with ``galaxylab_tls`` on): the message goes over
implicit TLS verifying the server with ``TLS_CA_FILE``; a server whose certificate another CA signed gets
nothing, and the delivery stays transient (retried), never sent in the clear."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from pydantic import ValidationError

from galaxy.common.tls import ServerTLS, client_context
from galaxy.mail.adapters.provider import SmtpProvider
from galaxy.mail.domain.errors import SendFailed
from tests.unit.common.certs import TlsFiles
from tests.unit.mail.conftest import Start, write_settings
from tests.unit.mail.helpers import LOGIN_CODE, post_delivery, until_status
from tests.unit.mail.smtp import Sink, start_sink

TIMEOUT = 2.0


@pytest.fixture
async def tls_sink(tls: TlsFiles) -> AsyncIterator[Sink]:
    sink = Sink()
    server = await start_sink(sink, ServerTLS(tls.cert, tls.key).context())
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()


def message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "no-reply@galaxy.test", "ada@example.com", "Your code"
    msg.set_content("Your code is 123456.")
    return msg


def provider(port: int, ca: Path) -> SmtpProvider:
    return SmtpProvider("127.0.0.1", port, timeout_seconds=TIMEOUT, tls=True, tls_context=client_context(ca))


async def test_the_provider_delivers_over_tls_verifying_the_labs_ca(tls_sink: Sink, tls: TlsFiles) -> None:
    answer = await provider(tls_sink.port, tls.ca).send(message())

    received = await tls_sink.one()
    assert answer == "accepted: OK queued"
    assert received.recipients == ["ada@example.com"]


async def test_the_provider_refuses_a_server_another_ca_signed(tls_sink: Sink, other_ca: TlsFiles) -> None:
    with pytest.raises(SendFailed) as refused:
        await provider(tls_sink.port, other_ca.ca).send(message())

    assert not refused.value.permanent
    assert tls_sink.transactions == 0


async def test_a_plain_provider_gets_no_banner_from_a_tls_server(tls_sink: Sink) -> None:
    plain = SmtpProvider("127.0.0.1", tls_sink.port, timeout_seconds=0.3)

    with pytest.raises(SendFailed):
        await plain.send(message())
    assert tls_sink.transactions == 0


async def test_the_service_wired_with_smtp_tls_and_the_labs_ca_sends_over_tls(
    start: Start, tls_sink: Sink, tls: TlsFiles, tmp_path: Path
) -> None:
    over_tls = {"smtp_port": tls_sink.port, "smtp_tls": True, "tls_ca_file": tls.ca}
    client = await start(write_settings(tmp_path, provider="smtp", **over_tls))

    delivery_id = (await post_delivery(client, "tls-key-1", LOGIN_CODE)).json()["delivery_id"]

    received = await tls_sink.one()
    await until_status(client, delivery_id, "sent")
    assert received.message["X-Galaxy-Delivery-Id"] == delivery_id


def test_smtp_tls_and_starttls_exclude_each_other(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="SMTP_TLS and SMTP_STARTTLS"):
        write_settings(tmp_path, provider="smtp", smtp_tls=True, smtp_starttls=True)
