"""The boundary's Redis, as the manifest names it (``manifest.redis.url``).

Suites read public keys and streams only (contracts/redis/keys.md); key names
come from ``galaxy_contracts.redis_keys``. They log in as the boundary's
``harness`` ACL user, its password read from the file the manifest names
(``secrets.redis_users``); the readiness ping uses the PING-only probe user of
``manifest.redis.probe.url``, which needs no password. The client notes every key a test touches
(``galaxylab.touched``), so a failed test's report shows those keys as they were then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from galaxylab import touched
from tests.harness import secrets as lab_secrets
from tests.harness.manifest import Manifest
from tests.harness.waits import eventually_async

CONNECT_TIMEOUT = 2.0
HARNESS = "harness"


@dataclass(frozen=True)
class StreamEntry:
    id: str
    fields: dict[str, str]


class _NotingPipeline(Pipeline):
    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        touched.record(args)
        return super().execute_command(*args, **kwargs)


class NotingRedis(aioredis.Redis):
    """A client that notes the keys of each command it sends (pipelines too) for the failure report."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        touched.record(args)
        return await super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        return _NotingPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)


def client(manifest: Manifest, user: str = HARNESS) -> aioredis.Redis:
    """An asyncio client with decoded (str) replies, logged in as ``user`` (a user of
    ``manifest.secrets.redis_users``); close it with ``await client.aclose()``."""
    return NotingRedis.from_url(
        manifest.redis.url,
        username=user,
        password=password(manifest, user),
        driver_info=None,
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=CONNECT_TIMEOUT,
        **tls(manifest),
    )


def tls(manifest: Manifest) -> dict[str, Any]:
    """The client's TLS options for a ``rediss://`` Redis: verify it with the lab's CA (read once)."""
    if not manifest.redis.tls:
        return {}
    if manifest.boundary not in _CAS:
        ca = lab_secrets.read_tls_ca(manifest)
        assert ca is not None, f"{manifest.boundary}: Redis speaks TLS but the manifest names no CA"
        _CAS[manifest.boundary] = ca.decode()
    return {"ssl_ca_data": _CAS[manifest.boundary], "ssl_cert_reqs": "required", "ssl_check_hostname": True}


_CAS: dict[str, str] = {}


def password(manifest: Manifest, user: str) -> str:
    """The password of a Redis ACL user of the boundary, read (once) on the secrets host."""
    try:
        path = manifest.secrets.redis_users[user]
    except KeyError:
        known = ", ".join(sorted(manifest.secrets.redis_users))
        raise KeyError(f"{manifest.boundary}: no Redis user {user!r} (users with a password: {known})") from None
    key = (manifest.boundary, path)
    if key not in _PASSWORDS:
        _PASSWORDS[key] = lab_secrets.read_text(manifest, path)
    return _PASSWORDS[key]


_PASSWORDS: dict[tuple[str, str], str] = {}


def ping(url: str, ca: str | None = None) -> bool:
    """True when the Redis at ``url`` answers PING; False when it cannot be reached.

    A user in the URL without a password is the lab's password-less probe user (any password is taken);
    a ``rediss://`` one is verified with ``ca`` (the lab's CA, PEM).
    """
    tls = {} if ca is None else {"ssl_ca_data": ca, "ssl_cert_reqs": "required", "ssl_check_hostname": True}
    probe = redis.Redis.from_url(
        url, password="", driver_info=None, socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=CONNECT_TIMEOUT, **tls,
    )  # fmt: skip
    try:
        return bool(probe.ping())
    except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
        return False
    finally:
        probe.close()


async def entries(client: aioredis.Redis, stream: str, *, start: str = "-", end: str = "+") -> list[StreamEntry]:
    """Every entry of ``stream`` between two ids (inclusive), oldest first."""
    raw = await client.xrange(stream, min=start, max=end)
    return [
        StreamEntry(id=str(entry_id), fields={str(k): str(v) for k, v in (fields or {}).items()})
        for entry_id, fields in raw or []
    ]


async def last_id(client: aioredis.Redis, stream: str) -> str:
    """Id of the newest entry (``0-0`` for an empty or missing stream): a position to read after."""
    newest = await client.xrevrange(stream, count=1)
    return str(newest[0][0]) if newest else "0-0"


async def entries_after(client: aioredis.Redis, stream: str, position: str) -> list[StreamEntry]:
    """Entries strictly newer than ``position`` (as returned by :func:`last_id`)."""
    return await entries(client, stream, start=f"({position}")


async def matching(client: aioredis.Redis, stream: str, **fields: str) -> list[StreamEntry]:
    """Entries of ``stream`` whose fields include every given ``name=value``, oldest first."""
    return [e for e in await entries(client, stream) if all(e.fields.get(k) == v for k, v in fields.items())]


async def only_entry(client: aioredis.Redis, stream: str, *, within: float, **fields: str) -> StreamEntry:
    """The single entry matching ``fields``, waiting up to ``within`` seconds for it; none or several fail."""

    async def exactly_one() -> StreamEntry:
        found = await matching(client, stream, **fields)
        assert len(found) == 1, f"{len(found)} entries on {stream} matching {fields}"
        return found[0]

    return await eventually_async(exactly_one, within=within, what=f"one entry on {stream} matching {fields}")
