"""galaxy.common.redis: a service's client survives a restart of its Redis."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from galaxy.common.redis import connect
from tests.harness.manifest import under_ci
from tests.harness.waits import until
from tests.unit.common.ports import closed_port

REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None and not under_ci(), reason="needs redis-server (Debian package redis-server)"
)


class RedisProcess:
    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [str(REDIS_SERVER), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        ping = ["redis-cli", "-p", str(self.port), "ping"]
        until(
            lambda: subprocess.run(ping, capture_output=True, check=False).stdout.strip() == b"PONG",
            within=5,
            what="redis-server ready",
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=5)
            self.process = None


@pytest.fixture
def server() -> Iterator[RedisProcess]:
    process = RedisProcess(closed_port())
    process.start()
    yield process
    process.stop()


@pytest.fixture
async def client(server: RedisProcess) -> AsyncIterator[aioredis.Redis]:
    redis = connect(f"redis://127.0.0.1:{server.port}/0")
    yield redis
    await redis.aclose()


async def test_first_command_after_a_redis_restart_succeeds(server: RedisProcess, client: aioredis.Redis) -> None:
    script = client.register_script("return redis.call('SET', KEYS[1], ARGV[1])")
    await script(keys=["k"], args=["before"])

    server.stop()
    server.start()

    assert await script(keys=["k"], args=["after"]) == "OK"
    assert await client.get("k") == "after"
