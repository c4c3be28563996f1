"""galaxy.common.redis: a service's client logs in as its own ACL user and survives a restart of its Redis."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError

from galaxy.common.redis import connect, connect_service
from galaxy.common.serve import problems
from galaxy.common.settings import ConfigError, ServiceSettings
from tests.harness.manifest import under_ci
from tests.harness.waits import until, until_async
from tests.unit.common.certs import TlsFiles, write_tls
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


# --- a bounded pool that waits --------------------------------------------------------------------


async def test_more_concurrent_commands_than_the_pool_holds_wait_for_a_connection(server: RedisProcess) -> None:
    client = connect_service(svc(redis_url=f"redis://127.0.0.1:{server.port}/0", redis_max_connections=3))
    try:
        # 30 blocking pops of 50 ms each: 3 at a time, the other 27 queue for a connection instead of failing.
        replies = await asyncio.gather(*(client.blpop([f"empty:{i}"], timeout=0.05) for i in range(30)))
        assert replies == [None] * 30
        assert len(await client.client_list()) <= 3
    finally:
        await client.aclose()

    # Closing the client closes its pool's connections.
    probe = connect(f"redis://127.0.0.1:{server.port}/0")

    async def only_the_probe_is_connected() -> bool:
        return len(await probe.client_list()) == 1

    try:
        await until_async(only_the_probe_is_connected, within=5, what="the pool's connections closed")
    finally:
        await probe.aclose()


async def test_a_command_waits_for_a_busy_pool_at_most_its_timeout(server: RedisProcess) -> None:
    settings = svc(redis_url=f"redis://127.0.0.1:{server.port}/0", redis_max_connections=1, redis_pool_timeout=0.2)
    client = connect_service(settings)

    async def pop() -> object:
        return await client.blpop(["empty"], timeout=1)

    try:
        busy = asyncio.create_task(pop())  # holds the one connection for 1 s
        await asyncio.sleep(0)  # let it take the connection
        started = time.monotonic()
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await client.ping()
        assert time.monotonic() - started < 0.9  # gave up after the pool timeout, not when BLPOP ended
        assert await busy is None
    finally:
        await client.aclose()


@pytest.mark.parametrize("values", [{"redis_max_connections": 0}, {"redis_pool_timeout": 0}])
def test_pool_settings_must_be_positive(values: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        svc(**values)


# --- logging in as the service's own ACL user -----------------------------------------------------


class Svc(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GALAXY_SVC_")


def svc(**values: object) -> Svc:
    return Svc.model_validate({"port": 1, "admin_port": 2} | values)


@pytest.fixture
def acl_server(tmp_path: Path) -> Iterator[int]:
    """A redis-server whose default user is off and whose one user ``svc`` has the password ``s3cret``."""
    port = closed_port()
    digest = hashlib.sha256(b"s3cret").hexdigest()
    conf = tmp_path / "redis.conf"
    conf.write_text(
        f'port {port}\nbind 127.0.0.1\nsave ""\nappendonly no\ndir {tmp_path}\n'
        f"user default reset off\nuser svc reset on #{digest} ~* +@all\n"
    )
    process = subprocess.Popen([str(REDIS_SERVER), str(conf)], stdout=subprocess.DEVNULL)
    ping = ["redis-cli", "-p", str(port), "--user", "svc", "--pass", "s3cret", "--no-auth-warning", "ping"]
    until(
        lambda: subprocess.run(ping, capture_output=True, check=False).stdout.strip() == b"PONG",
        within=5,
        what="redis-server ready",
    )
    yield port
    process.terminate()
    process.wait(timeout=5)


async def test_a_service_logs_in_as_its_user_with_the_password_from_its_file(acl_server: int, tmp_path: Path) -> None:
    password = tmp_path / "redis-svc.password"
    password.write_text("s3cret\n")
    settings = svc(redis_url=f"redis://127.0.0.1:{acl_server}/0", redis_username="svc", redis_password_file=password)
    client = connect_service(settings)
    try:
        assert await client.ping()
    finally:
        await client.aclose()


async def test_without_its_user_a_service_is_refused(acl_server: int) -> None:
    client = connect_service(svc(redis_url=f"redis://127.0.0.1:{acl_server}/0"))
    try:
        with pytest.raises(AuthenticationError):
            await client.ping()
    finally:
        await client.aclose()


def test_an_unreadable_password_file_names_its_variable(tmp_path: Path) -> None:
    settings = svc(redis_username="svc", redis_password_file=tmp_path / "missing")
    with pytest.raises(ConfigError, match="GALAXY_SVC_REDIS_PASSWORD_FILE: cannot read"):
        connect_service(settings)


@pytest.mark.parametrize("values", [{"redis_username": "svc"}, {"redis_password_file": "/x"}])
def test_user_and_password_file_come_together(values: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="GALAXY_SVC_REDIS_USERNAME and GALAXY_SVC_REDIS_PASSWORD_FILE"):
        connect_service(svc(**values))


def test_a_password_in_the_redis_url_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError, match="must not carry a password") as caught:
        svc(redis_url="redis://svc:s3cret@127.0.0.1:6379/0")
    assert "s3cret" not in problems(caught.value)


# --- over TLS (rediss://), verified with the lab's CA ------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, TlsFiles]]:
    """A redis-server listening with TLS only (``port 0``), its certificate from a lab CA of its own."""
    tls = write_tls(tmp_path / "tls")
    port = closed_port()
    conf = tmp_path / "redis-tls.conf"
    conf.write_text(
        f'port 0\ntls-port {port}\nbind 127.0.0.1\nsave ""\nappendonly no\ndir {tmp_path}\n'
        f"tls-cert-file {tls.cert}\ntls-key-file {tls.key}\ntls-ca-cert-file {tls.ca}\ntls-auth-clients no\n"
    )
    process = subprocess.Popen([str(REDIS_SERVER), str(conf)], stdout=subprocess.DEVNULL)
    ping = ["redis-cli", "-p", str(port), "--tls", "--cacert", str(tls.ca), "ping"]
    until(
        lambda: subprocess.run(ping, capture_output=True, check=False).stdout.strip() == b"PONG",
        within=5,
        what="redis-server (TLS) ready",
    )
    yield port, tls
    process.terminate()
    process.wait(timeout=5)


async def test_a_rediss_url_speaks_tls_verified_with_the_ca_file(tls_server: tuple[int, TlsFiles]) -> None:
    port, tls = tls_server
    client = connect_service(svc(redis_url=f"rediss://127.0.0.1:{port}/0", tls_ca_file=tls.ca))
    try:
        assert await client.ping()
    finally:
        await client.aclose()


async def test_plain_text_to_the_tls_port_is_refused(tls_server: tuple[int, TlsFiles]) -> None:
    port, _ = tls_server
    client = connect(f"redis://127.0.0.1:{port}/0")
    try:
        with pytest.raises(RedisConnectionError):
            await client.ping()
    finally:
        await client.aclose()


async def test_a_server_certificate_from_another_ca_is_refused(
    tls_server: tuple[int, TlsFiles], tmp_path: Path
) -> None:
    port, _ = tls_server
    other = write_tls(tmp_path / "other", lab="other")
    client = connect(f"rediss://127.0.0.1:{port}/0", ca_file=other.ca)
    try:
        with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.ping()
    finally:
        await client.aclose()


def test_an_unreadable_ca_file_names_its_variable(tmp_path: Path) -> None:
    settings = svc(redis_url="rediss://127.0.0.1:1/0", tls_ca_file=tmp_path / "missing.pem")
    with pytest.raises(ConfigError, match="GALAXY_SVC_TLS_CA_FILE: cannot read"):
        connect_service(settings)
