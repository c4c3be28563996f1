"""galaxylab.ready: concurrent readiness with one deadline, naming what is not ready."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from galaxylab import certificates, ready

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def serve(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def redis_pong(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"PING\r\n")
    writer.write(b"+PONG\r\n")
    await writer.drain()
    writer.close()


def http_status(status: int) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    return handler


async def smtp_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 sink ESMTP\r\n")
    await writer.drain()
    await reader.readline()
    writer.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def servers() -> AsyncIterator[dict[str, int]]:
    started = {
        "redis": await serve(redis_pong),
        "http": await serve(http_status(200)),
        "http503": await serve(http_status(503)),
        "smtp": await serve(smtp_banner),
    }
    yield {name: port for name, (_, port) in started.items()}
    for server, _ in started.values():
        server.close()
        await server.wait_closed()


async def test_every_kind_of_component_is_recognised_ready(servers: dict[str, int]) -> None:
    checks = [
        ready.Check("r", f"redis://127.0.0.1:{servers['redis']}"),
        ready.Check("h", f"http://127.0.0.1:{servers['http']}/healthz"),
        ready.Check("s", f"smtp://127.0.0.1:{servers['smtp']}"),
    ]
    outcomes = await ready.wait_all(checks, 5)
    assert [(o.check.name, o.ready) for o in outcomes] == [("r", True), ("h", True), ("s", True)]


async def test_a_503_and_a_closed_port_are_not_ready_and_say_why(servers: dict[str, int]) -> None:
    checks = [
        ready.Check("unhealthy", f"http://127.0.0.1:{servers['http503']}/healthz"),
        ready.Check("down", f"redis://127.0.0.1:{free_port()}"),
    ]
    # Long enough for a loaded host to answer at least once (a 503 never becomes ready, so it all waits).
    outcomes = await ready.wait_all(checks, 3)
    assert [o.ready for o in outcomes] == [False, False]
    assert "503" in outcomes[0].reason
    assert "connect" in outcomes[1].reason


async def test_checks_wait_concurrently_under_one_deadline() -> None:
    checks = [ready.Check(f"down{i}", f"redis://127.0.0.1:{free_port()}") for i in range(20)]
    started = time.monotonic()
    await ready.wait_all(checks, 0.5)
    assert time.monotonic() - started < 2


async def test_a_component_that_comes_up_late_is_waited_for() -> None:
    # A Redis still loading its data answers LOADING; it answers PONG from the seventh PING on, so the probe
    # is turned away six times and polls (POLL_SECONDS apart) for at least 0.3 s before it is ready.
    loading = 6
    pings = 0

    async def comes_up_late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal pings
        pings += 1
        if pings > loading:
            await redis_pong(reader, writer)
            return
        await reader.readuntil(b"PING\r\n")
        writer.write(b"-LOADING Redis is loading the dataset in memory\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(comes_up_late, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        outcomes = await ready.wait_all([ready.Check("late", f"redis://127.0.0.1:{port}")], 5)
    finally:
        server.close()
        await server.wait_closed()
    assert outcomes[0].ready
    assert outcomes[0].seconds >= 0.25


@pytest.mark.parametrize("value", ["noequals", "x=ftp://h:1", "x=redis://h", "=redis://h:1"])
def test_a_malformed_check_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="--check wants"):
        ready.parse_check(value)


def test_the_cli_exits_nonzero_naming_what_is_not_ready(capsys: pytest.CaptureFixture[str]) -> None:
    code = ready.main(["--deadline", "0.3", "--check", f"gw-redis=redis://127.0.0.1:{free_port()}"])
    assert code == 1
    assert "NOT READY gw-redis" in capsys.readouterr().err


async def redis_with_probe_user(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A Redis that answers PING only after ``AUTH probe ""`` (the lab's password-less PING-only user)."""
    first = await reader.readuntil(b"\r\n")
    if first != b"*3\r\n":
        writer.write(b"-NOAUTH Authentication required.\r\n")
    else:
        auth = await reader.readexactly(len(b"$4\r\nAUTH\r\n$5\r\nprobe\r\n$0\r\n\r\n"))
        writer.write(b"+OK\r\n" if auth == b"$4\r\nAUTH\r\n$5\r\nprobe\r\n$0\r\n\r\n" else b"-WRONGPASS\r\n")
        await writer.drain()
        await reader.readuntil(b"PING\r\n")
        writer.write(b"+PONG\r\n")
    await writer.drain()
    writer.close()


async def test_a_redis_probe_naming_a_user_logs_in_as_it_first() -> None:
    server, port = await serve(redis_with_probe_user)
    try:
        as_probe, anonymous = await ready.wait_all(
            [ready.Check("p", f"redis://probe@127.0.0.1:{port}"), ready.Check("a", f"redis://127.0.0.1:{port}")], 0.5
        )
    finally:
        server.close()
        await server.wait_closed()
    assert as_probe.ready
    assert not anonymous.ready
    assert "NOAUTH" in anonymous.reason


# --- rediss:// (TLS), verified with the lab's CA ------------------------------------------------------------


def tls_files(tmp_path: Path, lab: str) -> tuple[Path, ssl.SSLContext]:
    """A CA file and a server context with a certificate for 127.0.0.1 signed by it."""
    ca = certificates.new_ca(lab)
    pair = certificates.issue(ca, "lab-a", "127.0.0.1")
    (tmp_path / f"{lab}-ca.pem").write_bytes(ca.cert)
    (tmp_path / f"{lab}-cert.pem").write_bytes(pair.cert)
    (tmp_path / f"{lab}-key.pem").write_bytes(pair.key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / f"{lab}-cert.pem", tmp_path / f"{lab}-key.pem")
    return tmp_path / f"{lab}-ca.pem", context


async def test_a_rediss_probe_verifies_the_server_with_its_ca_and_refuses_another(tmp_path: Path) -> None:
    ca, context = tls_files(tmp_path, "lab")
    other_ca, _ = tls_files(tmp_path, "other")
    server = await asyncio.start_server(redis_with_probe_user, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        url = f"rediss://probe@127.0.0.1:{port}"
        ok, wrong_ca, plain = await ready.wait_all(
            [
                ready.Check("ok", url, str(ca)),
                ready.Check("other", url, str(other_ca)),
                ready.Check("plain", url[:5] + url[6:]),
            ],
            1.0,
        )
    finally:
        server.close()
        await server.wait_closed()
    assert ok.ready, ok.reason
    assert not wrong_ca.ready
    assert "CERTIFICATE_VERIFY_FAILED" in wrong_ca.reason
    assert not plain.ready


def test_a_ca_must_name_one_of_the_checks() -> None:
    checks = [ready.parse_check("r=rediss://probe@h:1")]
    assert ready.with_cas(checks, ["r=/ca.pem"]) == [ready.Check("r", "rediss://probe@h:1", "/ca.pem")]
    with pytest.raises(ValueError, match="--ca wants NAME=FILE"):
        ready.with_cas(checks, ["x=/ca.pem"])


async def test_an_smtps_probe_reads_the_banner_after_the_handshake_and_refuses_another_ca(tmp_path: Path) -> None:
    ca, context = tls_files(tmp_path, "lab")
    other_ca, _ = tls_files(tmp_path, "other")
    server = await asyncio.start_server(smtp_banner, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    url = f"smtps://127.0.0.1:{port}"
    try:
        await ready.attempt(url, str(ca))
        with pytest.raises(ready.NotReady, match="CERTIFICATE_VERIFY_FAILED"):
            await ready.attempt(url, str(other_ca))
        with pytest.raises(TimeoutError):  # plain SMTP: the banner never comes before a handshake
            await asyncio.wait_for(ready.attempt(f"smtp://127.0.0.1:{port}"), 0.5)
    finally:
        server.close()
        await server.wait_closed()
    assert ready.with_cas([ready.parse_check(f"s={url}")], [f"s={ca}"]) == [ready.Check("s", url, str(ca))]
