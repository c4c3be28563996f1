"""A boundary's Redis ACL: one user per component that uses Redis (its catalog entry's ``redis``), the
test harness, the lab's operations, a password-less readiness probe that may only PING, and the
``default`` user switched off (contracts/redis/keys.md "Who may touch what").

``rules`` is the ACL without passwords (what the manifest publishes), each user's rules applied after
``reset`` (off, no password, no key, no channel, no command); ``config_lines`` adds each user's password
as Redis stores it, a SHA-256 digest (``#<hex>``), so redis.conf holds no password.
"""

from __future__ import annotations

from collections.abc import Mapping

from galaxylab.plan.catalog import Catalog, RedisAccess
from galaxylab.plan.files import REDIS_USERS

DEFAULT = "default"
HARNESS = "harness"
ADMIN = "admin"
# The readiness probe (galaxylab.ready, on hosts that may hold no secret): no key, no channel, only PING.
PROBE = "probe"
PROBE_RULES = ("on", "nopass", "+ping")
# Off and without a password, so no client can be it; its permissions are still checked where Redis
# runs commands as it internally: Redis 7.0 replays an AOF's MULTI/EXEC blocks as the default user and
# re-checks the ACL at EXEC (redis/redis#14541, fixed upstream by #14545). Without them a durable Redis
# silently drops acknowledged writes on a restart (every script's effects are such a block).
DEFAULT_RULES = ("off", "~*", "&*", "+@all")
# The boundary suites: any key and command except administration and wiping the boundary's data.
HARNESS_RULES = ("on", "~*", "&*", "+@all", "-@admin", "-flushall", "-flushdb", "-swapdb")
ADMIN_RULES = ("on", "~*", "&*", "+@all")
_ACCESS = {"read": "%R~", "write": "%W~", "read-write": "~"}


def user_of(kind: str, access: RedisAccess) -> str:
    return access.user or kind


def component_rules(access: RedisAccess) -> tuple[str, ...]:
    keys = tuple(f"{_ACCESS[mode]}{pattern}" for pattern, mode in access.keys.items())
    channels = tuple(f"&{pattern}" for pattern in access.channels)
    commands = tuple(f"+{command}" for command in access.commands)
    return ("on", *keys, *channels, *commands)


def rules(components: tuple[str, ...] | list[str], catalog: Catalog) -> dict[str, tuple[str, ...]]:
    """``{user: ACL rules}`` of a boundary with these components, without passwords, ``default`` first."""
    users: dict[str, tuple[str, ...]] = {DEFAULT: DEFAULT_RULES}
    for kind in components:
        access = catalog.spec(kind).redis
        if access is not None:
            users[user_of(kind, access)] = component_rules(access)
    users |= {HARNESS: HARNESS_RULES, ADMIN: ADMIN_RULES, PROBE: PROBE_RULES}
    return users


def config_lines(users: Mapping[str, tuple[str, ...]], hashes: Mapping[str, str]) -> list[str]:
    """redis.conf ``user`` directives: ``reset`` first, then the user's rules with its password digest."""
    lines = []
    for user, user_rules in users.items():
        password = (f"#{hashes[user]}",) if user in REDIS_USERS else ()
        lines.append(" ".join(("user", user, "reset", *user_rules[:1], *password, *user_rules[1:])))
    return lines
