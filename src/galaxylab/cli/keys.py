"""What a boundary's Redis holds under some keys, as text for a failure report (values redacted by the caller).

Read from the controller through the manifest's Redis URL, as the suites reach it (so a Redis on a
remote host too): each key's type, size and TTL, and its newest content (a stream's last entries and
its consumer groups, a list's tail, a hash's fields, ...). A value under a field whose name says it
is a credential (``token``, ``code``, ``secret``...) is never shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import redis

TIMEOUT = 2.0
LAST = 5  # newest entries or items shown per key
FIELDS = 20  # hash fields, set members shown per key
VALUE_CHARS = 300
HIDDEN = "[redacted]"
_SECRET_FIELD = re.compile(r"token|secret|password|passwd|credential|signature|code|hash|otp", re.IGNORECASE)


def dump(url: str, keys: Sequence[str], *, username: str | None = None, password: str | None = None) -> str:
    """One block per key (read as the ACL user given, e.g. the harness's); a Redis that cannot be reached is one
    line saying so, never an error."""
    if not keys:
        return "(the test touched no Redis key through the harness)"
    client = redis.Redis.from_url(
        url,
        username=username,
        password=password,
        decode_responses=True,
        socket_connect_timeout=TIMEOUT,
        socket_timeout=TIMEOUT,
    )
    try:
        return describe_all(client, keys)
    except redis.RedisError as error:
        return f"could not read the boundary's Redis: {error}"
    finally:
        client.close()


def describe_all(client: redis.Redis, keys: Sequence[str]) -> str:
    return "\n".join(describe(client, key) for key in keys)


def describe(client: redis.Redis, key: str) -> str:
    kind = str(client.type(key))
    if kind == "none":
        return f"{key}  (no such key now)"
    ttl = int(client.ttl(key))
    size, lines = _READERS.get(kind, _other)(client, key)
    expiry = f", ttl {ttl}s" if ttl >= 0 else ""
    return "\n".join([f"{key}  ({kind}, {size}{expiry})", *(f"  {line}" for line in lines)])


def _string(client: redis.Redis, key: str) -> tuple[str, list[str]]:
    value = str(client.get(key) or "")
    return f"{len(value)} chars", [HIDDEN if _SECRET_FIELD.search(key) else _clip(value)]


def _hash(client: redis.Redis, key: str) -> tuple[str, list[str]]:
    fields: dict[str, str] = client.hgetall(key)  # type: ignore[assignment]
    shown = sorted(fields.items())[:FIELDS]
    return f"{len(fields)} fields", [_fields(dict(shown))]


def _list(client: redis.Redis, key: str) -> tuple[str, list[str]]:
    length = int(client.llen(key))
    tail: list[str] = client.lrange(key, -LAST, -1)  # type: ignore[assignment]
    return f"{length} items", [f"[{length - len(tail) + i}] {_clip(item)}" for i, item in enumerate(tail)]


def _set(client: redis.Redis, key: str) -> tuple[str, list[str]]:
    count = int(client.scard(key))
    members = sorted(client.sscan_iter(key, count=FIELDS))[:FIELDS]
    return f"{count} members", [", ".join(_clip(m) for m in members)]


def _zset(client: redis.Redis, key: str) -> tuple[str, list[str]]:
    count = int(client.zcard(key))
    last: list[tuple[str, float]] = client.zrange(key, -LAST, -1, withscores=True)  # type: ignore[assignment]
    return f"{count} members", [f"{score:g} {_clip(member)}" for member, score in last]


def _stream(client: redis.Redis, key: str) -> tuple[str, list[str]]:
    length = int(client.xlen(key))
    newest: list[tuple[str, dict[str, str]]] = client.xrevrange(key, count=LAST)  # type: ignore[assignment]
    lines = [f"{entry_id} {_fields(fields)}" for entry_id, fields in reversed(newest)]
    groups: list[dict[str, Any]] = client.xinfo_groups(key)
    lines += [
        f"group {g['name']}: last-delivered {g['last-delivered-id']}, pending {g['pending']}, "
        f"consumers {g['consumers']}"
        for g in groups
    ]
    return f"{length} entries", lines


def _other(client: redis.Redis, key: str) -> tuple[str, list[str]]:
    return "?", []


_READERS = {"string": _string, "hash": _hash, "list": _list, "set": _set, "zset": _zset, "stream": _stream}


def _fields(fields: Mapping[str, str]) -> str:
    shown = {name: HIDDEN if _SECRET_FIELD.search(name) else _clip(str(value)) for name, value in fields.items()}
    return "{" + ", ".join(f"{name}: {value}" for name, value in shown.items()) + "}"


def _clip(value: str) -> str:
    return value if len(value) <= VALUE_CHARS else f"{value[:VALUE_CHARS]}... ({len(value)} chars)"
