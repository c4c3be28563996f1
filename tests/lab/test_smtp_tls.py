"""With the lab's TLS on, the SMTP sink speaks TLS on both its ports (docs/conventions.md "TLS").

Its SMTP port is implicit TLS: a client verifying the lab's CA gets the ``220`` banner after the handshake, a
client speaking plain SMTP never gets one; its API (the lab token, every captured mail) refuses plain HTTP.
Only for sinks the manifest says speak TLS (none while ``galaxylab_tls`` is off).
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

import httpx
import pytest

from tests.harness import secrets as lab_secrets
from tests.harness.manifest import Component, Manifest
from tests.lab.provisioned import manifests

pytestmark = [pytest.mark.lab, pytest.mark.lab_state]

TIMEOUT = 5.0
PLAIN_WAIT = 1.0  # how long a plain client waits for a banner that must not come


def tls_sinks() -> list[Any]:
    return [
        pytest.param(manifest, component, id=f"{manifest.boundary}-{name}")
        for manifest in manifests()
        for name, component in sorted(manifest.components.items())
        if component.protocol == "smtp" and component.tls
    ]


def lab_ca(manifest: Manifest) -> ssl.SSLContext:
    ca = lab_secrets.read_tls_ca(manifest)
    assert ca is not None, f"{manifest.boundary}: the sink speaks TLS but the manifest names no CA"
    return lab_secrets.tls_context(ca)


def first_line(sock: socket.socket) -> bytes:
    """What the server sends first, up to a line end (b"" when it closes or says nothing in ``PLAIN_WAIT``)."""
    sock.settimeout(PLAIN_WAIT)
    received = b""
    try:
        while b"\n" not in received:
            chunk = sock.recv(512)
            if not chunk:
                break
            received += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return received


@pytest.mark.parametrize(("manifest", "sink"), tls_sinks())
def test_the_sink_greets_a_client_verifying_the_labs_ca_after_the_handshake(
    manifest: Manifest, sink: Component
) -> None:
    with (
        socket.create_connection((sink.address, sink.port), timeout=TIMEOUT) as raw,
        lab_ca(manifest).wrap_socket(raw, server_hostname=sink.address) as tls,
    ):
        assert first_line(tls).startswith(b"220 ")


@pytest.mark.parametrize(("manifest", "sink"), tls_sinks())
def test_the_sink_refuses_plain_smtp(manifest: Manifest, sink: Component) -> None:
    with socket.create_connection((sink.address, sink.port), timeout=TIMEOUT) as plain:
        banner = first_line(plain)
        plain.sendall(b"EHLO plain.example\r\n")
        answer = first_line(plain)

    assert not banner.startswith(b"220"), f"{sink.endpoint} greets in plain text: {banner[:60]!r}"
    assert not answer.startswith(b"250"), f"{sink.endpoint} answers plain EHLO: {answer[:60]!r}"


@pytest.mark.parametrize(("manifest", "sink"), tls_sinks())
def test_the_sinks_api_refuses_plain_http(manifest: Manifest, sink: Component) -> None:
    assert sink.admin_url.startswith("https://"), sink.admin_url
    plain = sink.admin_url.replace("https://", "http://", 1)

    with pytest.raises(httpx.TransportError):
        httpx.get(f"{plain}/healthz", timeout=TIMEOUT)
    assert httpx.get(f"{sink.admin_url}/healthz", timeout=TIMEOUT, verify=lab_ca(manifest)).status_code == 200
