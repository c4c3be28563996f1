"""The boundary's Redis, one client per process, logged in as the service's own ACL user; over TLS for a
``rediss://`` URL, verifying the server with ``TLS_CA_FILE``."""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from galaxy.common.settings import ConfigError, ServiceSettings, read_secret, read_setting_file
from galaxy.common.tls import client_tls

# After a Redis restart every pooled connection is dead: without retries on connection
# errors the first command of each one fails. Bounded: 3 more tries within about 0.35 s.
RETRIES = 3
BACKOFF = ExponentialBackoff(cap=0.2, base=0.05)


def connect_service(settings: ServiceSettings) -> aioredis.Redis:
    """The client of ``settings.redis_url`` as ``REDIS_USERNAME`` with the password in ``REDIS_PASSWORD_FILE``
    (read now: an unreadable file is a ``ConfigError`` naming the variable); neither set: no login."""
    if (settings.redis_username is None) != (settings.redis_password_file is None):
        prefix = str(settings.model_config.get("env_prefix", "")).upper()
        raise ConfigError(f"{prefix}REDIS_USERNAME and {prefix}REDIS_PASSWORD_FILE are set together or not at all")
    ca_file = settings.tls_ca_file
    if ca_file is not None and urlsplit(settings.redis_url).scheme == TLS_SCHEME:
        client_tls(settings)  # the CA file is read now: a bad one names TLS_CA_FILE
    password = None
    if settings.redis_password_file is not None:
        password = read_setting_file(settings, "redis_password_file", read_secret)
    return connect(
        settings.redis_url,
        username=settings.redis_username,
        password=password,
        ca_file=ca_file,
        max_connections=settings.redis_max_connections,
        pool_timeout=settings.redis_pool_timeout,
    )


TLS_SCHEME = "rediss"


# The pool's defaults (ServiceSettings.redis_max_connections, redis_pool_timeout).
MAX_CONNECTIONS = 50
POOL_TIMEOUT = 5.0


def connect(
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    ca_file: Path | None = None,
    max_connections: int = MAX_CONNECTIONS,
    pool_timeout: float = POOL_TIMEOUT,
) -> aioredis.Redis:
    """A client of ``url``; a ``rediss://`` one verifies the server's certificate (and its address) with
    ``ca_file``, else with the system's CAs.

    Its pool holds at most ``max_connections``; a command that finds them all busy waits for one up to
    ``pool_timeout`` seconds (then ``redis.exceptions.ConnectionError``), where redis-py's default pool
    would fail at once with ``MaxConnectionsError``."""
    tls: dict[str, object] = {}
    if urlsplit(url).scheme == TLS_SCHEME:
        tls = {"ssl_cert_reqs": "required", "ssl_check_hostname": True, "ssl_min_version": ssl.TLSVersion.TLSv1_2}
        if ca_file is not None:
            tls["ssl_ca_certs"] = str(ca_file)
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout,
        username=username,
        password=password,
        # No CLIENT SETINFO on connect: it is no command of a service's ACL user.
        driver_info=None,
        decode_responses=True,
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
        health_check_interval=10,
        retry=Retry(BACKOFF, RETRIES),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        **tls,
    )
    return aioredis.Redis.from_pool(pool)  # the client owns its pool: aclose() disconnects it
