"""With TLS on (``GALAXYLAB_SINK_TLS_*``), the sink's SMTP port is implicit TLS and its API is HTTPS: a client
verifying the lab's CA gets the banner and delivers; a plain client gets no banner and is cut off; a client
trusting another CA is refused at the handshake; ``/healthz`` reads the banner over TLS."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import httpx
import pytest

from galaxy.common.settings import ConfigError
from galaxy.common.tls import client_context
from galaxylab.sink.main import sink_tls
from galaxylab.sink.settings import SinkSettings
from tests.unit.common.certs import TlsFiles
from tests.unit.sink.mail import message
from tests.unit.sink.running import HOST, TOKENS, RunningSink, running_sink

TIMEOUT = 5.0


@pytest.fixture
async def running(tls: TlsFiles) -> AsyncIterator[RunningSink]:
    async with running_sink(tls=tls) as sink:
        yield sink


def api(running: RunningSink, verify: ssl.SSLContext | bool) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {TOKENS['lab']}"}
    return httpx.AsyncClient(base_url=running.api_url, headers=headers, timeout=TIMEOUT, verify=verify)


async def plain_exchange(port: int) -> bytes:
    """What a plain-text client gets: it says EHLO without waiting for a banner, then reads until the server
    closes (a TLS server takes the EHLO for a broken handshake)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(b"EHLO plain.example\r\n")
        await writer.drain()
        async with asyncio.timeout(TIMEOUT):
            return await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()


async def test_a_client_verifying_the_labs_ca_gets_the_banner_and_delivers(running: RunningSink, tls: TlsFiles) -> None:
    client = aiosmtplib.SMTP(hostname=HOST, port=running.smtp_port, use_tls=True, tls_context=client_context(tls.ca))
    async with asyncio.timeout(TIMEOUT):
        banner = await client.connect()
        await client.send_message(message(to="ada@example.com"))
        await client.quit()

    async with api(running, client_context(tls.ca)) as http:
        kept = (await http.get("/api/v1/messages")).json()["messages"]
    assert banner.code == 220
    assert [m["rcpt_tos"] for m in kept] == [["ada@example.com"]]


async def test_a_plain_client_gets_no_banner_and_is_cut_off(running: RunningSink) -> None:
    answer = await plain_exchange(running.smtp_port)

    assert b"220" not in answer
    assert b"250" not in answer


async def test_a_client_trusting_another_ca_is_refused(running: RunningSink, other_ca: TlsFiles) -> None:
    client = aiosmtplib.SMTP(
        hostname=HOST, port=running.smtp_port, use_tls=True, tls_context=client_context(other_ca.ca)
    )

    with pytest.raises(aiosmtplib.SMTPConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        async with asyncio.timeout(TIMEOUT):
            await client.connect()


async def test_the_api_speaks_tls_and_healthz_reads_the_banner_over_it(running: RunningSink, tls: TlsFiles) -> None:
    async with api(running, client_context(tls.ca)) as http:
        health = await http.get("/healthz")
    plain = running.api_url.replace("https://", "http://", 1)

    assert health.status_code == 200, health.text
    with pytest.raises(httpx.TransportError):
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            await http.get(f"{plain}/healthz")


async def test_the_api_refuses_a_client_trusting_another_ca(running: RunningSink, other_ca: TlsFiles) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        async with api(running, client_context(other_ca.ca)) as http:
            await http.get("/healthz")


def settings(tmp_path: Path, **tls: Path) -> SinkSettings:
    tokens = tmp_path / "service-tokens.json"
    tokens.write_text('{"lab": "t"}')
    return SinkSettings(port=2525, api_port=2526, service_tokens_file=tokens, **tls)


def test_without_tls_files_the_sink_is_plain(tmp_path: Path) -> None:
    assert sink_tls(settings(tmp_path)) is None


def test_a_certificate_without_its_key_is_a_config_error_naming_the_variable(tmp_path: Path, tls: TlsFiles) -> None:
    with pytest.raises(ConfigError, match="GALAXYLAB_SINK_TLS_KEY_FILE"):
        sink_tls(settings(tmp_path, tls_cert_file=tls.cert))
