"""Real TCP ports on 127.0.0.1 for listener checks: one that accepts connections, one where nothing listens."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def listening() -> Iterator[int]:
    """A port with a listening socket, closed on exit."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield int(server.getsockname()[1])


def closed_port() -> int:
    """A port that was free a moment ago; nothing listens on it."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        return int(server.getsockname()[1])
