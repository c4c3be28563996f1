"""Wait until the components of a host are really ready (RUNNING is not ready).

``python -m galaxylab.ready --deadline 60 --check NAME=URL [--check NAME=URL ...] [--ca NAME=FILE ...]``

URL schemes: ``redis://[user@]host:port`` (``PING`` answered ``+PONG``, after ``AUTH user`` with an empty
password when a user is named: the lab's password-less, PING-only probe user), ``rediss://`` the same over TLS,
verifying the server's certificate and address with the check's ``--ca`` file (else the system's CAs),
``http://host:port/path`` (``GET`` answered 200), ``smtp://host:port`` (a ``220`` banner), ``smtps://`` the
banner after a TLS handshake (implicit TLS), verified like ``rediss://``. All checks poll
concurrently until the shared deadline; exit 0 when all are ready, else 1 naming each
component that is not, with the last reason. Standard library only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ssl
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

POLL_SECONDS = 0.05
ATTEMPT_SECONDS = 2.0


@dataclass(frozen=True)
class Check:
    name: str
    url: str
    ca: str | None = None


@dataclass
class Outcome:
    check: Check
    ready: bool
    reason: str
    seconds: float


class NotReady(Exception):
    """One attempt failed; the message is the reason."""


async def _open(
    host: str, port: int, tls: ssl.SSLContext | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    try:
        if tls is None:
            return await asyncio.open_connection(host, port)
        return await asyncio.open_connection(host, port, ssl=tls, server_hostname=host)
    except ssl.SSLError as error:  # an OSError too: the handshake failed (a plain port, another CA)
        raise NotReady(f"TLS with {host}:{port}: {error.reason or error}") from error
    except OSError as error:
        raise NotReady(f"connect {host}:{port}: {error.strerror or error}") from error


def tls_context(ca: str | None) -> ssl.SSLContext:
    """What a TLS probe verifies the server with: ``ca`` (the lab's CA), else the system's CAs."""
    context = ssl.create_default_context(cafile=ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def _command(*parts: str) -> bytes:
    """A command in RESP (an array of bulk strings)."""
    encoded = [part.encode() for part in parts]
    return f"*{len(encoded)}\r\n".encode() + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in encoded)


async def probe_redis(
    host: str, port: int, _path: str, user: str | None = None, tls: ssl.SSLContext | None = None
) -> None:
    """PING answered; as ``user`` (a password-less user: the lab's probe) when one is given; over ``tls``."""
    reader, writer = await _open(host, port, tls)
    try:
        if user:
            writer.write(_command("AUTH", user, ""))
            await writer.drain()
            line = await reader.readline()
            if line.strip() != b"+OK":
                raise NotReady(f"AUTH {user} answered {line.strip()[:60]!r}")
        writer.write(_command("PING"))
        await writer.drain()
        line = await reader.readline()
    finally:
        await _close(writer)
    if line.strip() != b"+PONG":
        raise NotReady(f"PING answered {line.strip()[:60]!r}")


async def probe_http(host: str, port: int, path: str) -> None:
    reader, writer = await _open(host, port)
    try:
        request = f"GET {path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        await writer.drain()
        status = await reader.readline()
    finally:
        await _close(writer)
    parts = status.split()
    if len(parts) < 2 or parts[1] != b"200":
        raise NotReady(f"GET {path} answered {status.strip()[:60]!r}")


async def probe_smtp(host: str, port: int, _path: str, tls: ssl.SSLContext | None = None) -> None:
    """A ``220`` banner; over ``tls`` (implicit TLS) when given."""
    reader, writer = await _open(host, port, tls)
    try:
        banner = await reader.readline()
        writer.write(b"QUIT\r\n")
        await writer.drain()
    finally:
        await _close(writer)
    if not banner.startswith(b"220"):
        raise NotReady(f"banner {banner.strip()[:60]!r}")


PROBES: dict[str, Callable[[str, int, str], Awaitable[None]]] = {
    "redis": probe_redis,
    "http": probe_http,
    "smtp": probe_smtp,
}


def attempt(url: str, ca: str | None = None) -> Awaitable[None]:
    """One attempt of the probe ``url`` names (raises ``NotReady`` with the reason); ``rediss://`` and
    ``smtps://`` verify the server with ``ca``."""
    parts = urlsplit(url)
    host, port, path = parts.hostname or "", parts.port or 0, parts.path or "/"
    if parts.scheme == "redis":
        return probe_redis(host, port, path, parts.username)
    if parts.scheme == "rediss":
        return probe_redis(host, port, path, parts.username, tls_context(ca))
    if parts.scheme == "smtps":
        return probe_smtp(host, port, path, tls_context(ca))
    return PROBES[parts.scheme](host, port, path)


SCHEMES = (*PROBES, "rediss", "smtps")


def parse_check(value: str) -> Check:
    name, sep, url = value.partition("=")
    parts = urlsplit(url)
    if not sep or not name or parts.scheme not in SCHEMES or not parts.hostname or not parts.port:
        raise ValueError(f"--check wants NAME=(redis|rediss|http|smtp|smtps)://[USER@]HOST:PORT[/PATH], not {value!r}")
    return Check(name, url)


def with_cas(checks: Sequence[Check], cas: Sequence[str]) -> list[Check]:
    """``checks`` with the CA files of ``--ca NAME=FILE`` (each naming a check)."""
    files: dict[str, str] = {}
    for value in cas:
        name, sep, path = value.partition("=")
        if not sep or not path or name not in {check.name for check in checks}:
            raise ValueError(f"--ca wants NAME=FILE naming one of the checks, not {value!r}")
        files[name] = path
    return [Check(check.name, check.url, files.get(check.name)) for check in checks]


async def wait_one(check: Check, deadline: float) -> Outcome:
    start = time.monotonic()
    reason = "not tried"
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Outcome(check, False, reason, time.monotonic() - start)
        try:
            await asyncio.wait_for(attempt(check.url, check.ca), timeout=min(ATTEMPT_SECONDS, remaining))
        except NotReady as error:
            reason = str(error)
        except (TimeoutError, OSError, ValueError) as error:
            reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        else:
            return Outcome(check, True, "ready", time.monotonic() - start)
        await asyncio.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


async def wait_all(checks: Sequence[Check], seconds: float) -> list[Outcome]:
    """Poll every check concurrently until it is ready or ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    return list(await asyncio.gather(*(wait_one(check, deadline) for check in checks)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m galaxylab.ready", description=__doc__.splitlines()[0])
    parser.add_argument("--deadline", type=float, default=60.0, help="seconds to wait in total")
    parser.add_argument("--check", action="append", default=[], metavar="NAME=URL")
    tls_help = "CA of a rediss:// or smtps:// check"
    parser.add_argument("--ca", action="append", default=[], metavar="NAME=FILE", help=tls_help)
    args = parser.parse_args(argv)
    try:
        checks = with_cas([parse_check(value) for value in args.check], args.ca)
    except ValueError as error:
        parser.error(str(error))
    outcomes = asyncio.run(wait_all(checks, args.deadline))
    not_ready = [o for o in outcomes if not o.ready]
    slowest = max(outcomes, key=lambda o: o.seconds, default=None)
    if not_ready:
        for outcome in not_ready:
            print(f"NOT READY {outcome.check.name} ({outcome.check.url}): {outcome.reason}", file=sys.stderr)
        print(f"{len(not_ready)} of {len(outcomes)} components not ready after {args.deadline:g}s", file=sys.stderr)
        return 1
    detail = f", slowest {slowest.check.name} {slowest.seconds:.2f}s" if slowest else ""
    print(f"{len(outcomes)} components ready{detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
