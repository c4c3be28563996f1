"""``galaxy.common.serve``: the one start-up path of every program (services and the lab's stubs)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from galaxy.common.serve import Running, StartupFailed, background, bind, http_servers, serve
from tests.unit.common.ports import closed_port, listening

DEADLINE_SECONDS = 5.0


def hello(text: str) -> Starlette:
    return Starlette(routes=[Route("/", lambda _: PlainTextResponse(text))])


def test_a_taken_port_is_startup_failed_naming_what_and_where() -> None:
    with listening() as taken, pytest.raises(StartupFailed) as refused:
        bind("127.0.0.1", taken, "the admin port")

    assert str(refused.value).startswith(f"cannot listen for the admin port on 127.0.0.1:{taken}: ")


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_every_accepted_connection_sends_without_waiting_for_an_ack(host: str) -> None:
    """TCP_NODELAY on the listener, inherited by each accepted connection: uvicorn writes an answer's head and
    body apart, and without it the body waits for the client's delayed ACK (~40 ms per answer)."""
    with (
        bind(host, 0, "the main port") as listener,
        socket.create_connection((host, listener.getsockname()[1]), timeout=DEADLINE_SECONDS),
    ):
        accepted, _ = listener.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


async def test_http_servers_serve_both_apps_and_stop_when_the_block_ends() -> None:
    ports = closed_port(), closed_port()

    async with httpx.AsyncClient() as client:
        async with http_servers(hello("main"), hello("admin"), "127.0.0.1", *ports) as tasks:
            answers = [(await client.get(f"http://127.0.0.1:{port}/")).text for port in ports]

        assert answers == ["main", "admin"]
        assert all(task.done() for task in tasks)
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{ports[0]}/")


async def test_http_servers_refuse_a_taken_admin_port_and_release_the_main_one() -> None:
    port = closed_port()

    with listening() as taken, pytest.raises(StartupFailed, match="the admin port"):
        async with http_servers(hello("main"), hello("admin"), "127.0.0.1", port, taken):
            pass

    bind("127.0.0.1", port, "HTTP").close()  # not left bound


async def test_background_jobs_are_cancelled_when_the_block_ends() -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    async with background(forever()) as tasks:
        await asyncio.wait_for(started.wait(), DEADLINE_SECONDS)

    assert tasks[0].cancelled()


async def test_serve_stops_the_program_when_a_running_job_ends() -> None:
    stopped = []

    async def dies() -> None:
        return None

    @asynccontextmanager
    async def program() -> AsyncIterator[Running]:
        async with background(dies()) as tasks:
            yield tasks
        stopped.append(True)

    await asyncio.wait_for(serve(program()), DEADLINE_SECONDS)

    assert stopped == [True]
