"""``until_stopped``: the one way every service waits for SIGTERM/SIGINT or a server that died."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import pytest

from galaxy.common.serve import until_stopped

DEADLINE_SECONDS = 5.0


def handled_by_the_loop(sig: signal.Signals) -> bool:
    """asyncio replaces the default action with a no-op that wakes the loop (so sending it is safe)."""
    return signal.getsignal(sig) not in (signal.SIG_DFL, signal.SIG_IGN, signal.default_int_handler, None)


@pytest.fixture
async def running_server() -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(asyncio.Event().wait())
    yield task
    task.cancel()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_stop_signal_ends_the_wait_and_leaves_the_servers_to_the_caller(
    running_server: asyncio.Task[None], sig: signal.Signals
) -> None:
    waiting = asyncio.create_task(until_stopped(running_server))
    await asyncio.sleep(0)  # one turn of the loop: until_stopped installs its handlers
    assert handled_by_the_loop(sig), "until_stopped did not take over the signal"

    os.kill(os.getpid(), sig)
    await asyncio.wait_for(waiting, DEADLINE_SECONDS)

    assert not running_server.done()


async def test_a_server_that_ends_ends_the_wait() -> None:
    died = asyncio.get_running_loop().create_future()
    waiting = asyncio.create_task(until_stopped(died))
    await asyncio.sleep(0)

    died.set_result(None)

    await asyncio.wait_for(waiting, DEADLINE_SECONDS)


async def test_the_handlers_are_removed_afterwards() -> None:
    await until_stopped(asyncio.sleep(0))

    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
