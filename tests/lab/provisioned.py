"""The provisioned lab as the manifests describe it, and the hosts' process managers, for the state checks.

Every manifest is validated against ``galaxylab.manifest.Manifest`` (a manifest on disk that does
not validate fails the checks); hosts are reached through testinfra's backend named in the manifest.

``GALAXYLAB_CHECK_BOUNDARIES`` (comma-separated; ``galaxylab check BOUNDARY...`` sets it) narrows the
checks to those boundaries and the hosts they run on; unset, every boundary that is up is checked.
"""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, NamedTuple

import redis
import testinfra
from redis.backoff import NoBackoff
from redis.connection import Connection
from redis.retry import Retry

from galaxylab.cli import hosts
from tests.harness import redis as lab_redis
from tests.harness.manifest import Host, Manifest, Program, load_all

SELECTED_ENV = "GALAXYLAB_CHECK_BOUNDARIES"
REDIS_TIMEOUT = 2.0
# The connection name of the checks that provoke a refusal on purpose (tests/lab/test_redis_acl.py): Redis's
# ACL LOG records it with each refusal, so the check that no service was refused in normal operation can
# tell those apart, whichever xdist worker ran them and when.
PROVOKED = "galaxylab-provoked-refusal"


@cache
def all_manifests() -> tuple[Manifest, ...]:
    """Every boundary that is up, whatever the selection."""
    return tuple(load_all())


def selected_names() -> frozenset[str] | None:
    value = os.environ.get(SELECTED_ENV, "")
    names = frozenset(name for name in value.replace(",", " ").split() if name)
    return names or None


@cache
def manifests() -> tuple[Manifest, ...]:
    """The boundaries the checks cover: the selected ones (``GALAXYLAB_CHECK_BOUNDARIES``), else all."""
    names = selected_names()
    return tuple(m for m in all_manifests() if names is None or m.boundary in names)


def manifest(boundary: str) -> Manifest:
    return next(m for m in all_manifests() if m.boundary == boundary)


def programs() -> list[Program]:
    return [program for m in manifests() for program in m.programs()]


def lab_hosts() -> dict[str, Host]:
    """Every host of every manifest: ``{name: hosts entry}``."""
    hosts: dict[str, Host] = {}
    for m in manifests():
        hosts.update(m.hosts)
    return hosts


@cache
def host(name: str) -> Any:
    return testinfra.get_host(lab_hosts()[name].testinfra)


class Stat(NamedTuple):
    """A path's ``stat`` as the host tells it (the path itself, not what a symlink points to)."""

    kind: str  # "file", "directory", "symlink" or "other"
    mode: int  # the permission bits, as ``stat -c %a`` shows them
    user: str
    group: str


KINDS = {stat.S_IFREG: "file", stat.S_IFDIR: "directory", stat.S_IFLNK: "symlink"}


def stats(host_name: str, paths: Iterable[str]) -> dict[str, Stat]:
    """``{path: Stat}`` of the paths on the host, one ``stat`` command for all of them (testinfra's ``File``
    runs one per property); a path that does not exist is left out."""
    quoted = " ".join(shlex.quote(path) for path in paths)
    found: dict[str, Stat] = {}
    for line in host(host_name).run(f"stat -c '%f %U %G %n' -- {quoted}").stdout.splitlines():
        raw, user, group, path = line.split(" ", 3)
        mode = int(raw, 16)
        found[path] = Stat(KINDS.get(stat.S_IFMT(mode), "other"), stat.S_IMODE(mode), user, group)
    return found


def supervisorctl(name: str, *args: str) -> Any:
    return host(name).run(f"{lab_hosts()[name].supervisorctl} {shlex.join(args)}")


class Supervised(NamedTuple):
    """What the hosts' supervisord said, one ``supervisorctl status`` call per host."""

    states: dict[str, str]  # {program: STATE}
    pids: dict[str, int]  # {program: pid} of every running program


def supervisor_status() -> Supervised:
    """``states`` and ``pids`` of every lab host's programs, from one supervisorctl call per host (a Python
    process of its own: a tenth of a CPU-second each), read as ``galaxylab status`` reads them."""
    return _supervised(hosts.supervisor_states(manifests()))


def settled_supervisor_status() -> Supervised:
    """``supervisor_status`` once no program is STARTING (``galaxylab.cli.hosts.settled_supervisor_states``): a
    bring-up returns once every program is ready, which may be before supervisord's ``startsecs`` have passed."""
    return _supervised(hosts.settled_supervisor_states(manifests()))


def _supervised(states: dict[str, hosts.ProgramState]) -> Supervised:
    return Supervised(
        {name: s.state for name, s in states.items()},
        {name: s.pid for name, s in states.items() if s.pid is not None},
    )


def supervisor_states() -> dict[str, str]:
    """``{program: STATE}`` of every lab host, one supervisorctl call per host."""
    return supervisor_status().states


def program_id(program: Program) -> str:
    return program.name


def supervisor_pids() -> dict[str, int]:
    """``{program: pid}`` of every running lab program, one supervisorctl call per host."""
    return supervisor_status().pids


def environment(host_name: str, pid: int) -> dict[str, str]:
    """A process's environment as the kernel holds it (``/proc/<pid>/environ``), read on its host."""
    text = host(host_name).run(f"tr '\\0' '\\n' < /proc/{pid}/environ").stdout
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@contextmanager
def redis_as(
    manifest: Manifest, user: str | None, password: str | None = None, *, name: str | None = None
) -> Iterator[redis.Redis]:
    """A client of the boundary's Redis logged in as ``user`` (its password from the manifest's secrets
    unless given; ``None``: no login at all). Logging in happens on the first command. ``name``: the
    connection's name (``HELLO ... SETNAME``, which Redis lets any user run) as ``CLIENT LIST`` and the
    ``ACL LOG`` show it."""
    if user is not None and password is None:
        password = lab_redis.password(manifest, user)
    client = redis.Redis(
        redis_connect_func=None if name is None else named(name),
        host=manifest.redis.address,
        port=manifest.redis.port,
        username=user,
        password=password,
        driver_info=None,
        decode_responses=True,
        retry=Retry(NoBackoff(), 0),  # a refused login or command is the answer, not a reason to try again
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
        # A lab with TLS on: verified with its CA.
        **({"ssl": True, **lab_redis.tls(manifest)} if manifest.redis.tls else {}),
    )
    try:
        yield client
    finally:
        client.close()


def named(name: str) -> Callable[[Connection], None]:
    """A connect hook: the usual login, then the connection's name."""

    def connect(connection: Connection) -> None:
        connection.on_connect()
        connection.send_command("HELLO", "2", "SETNAME", name)
        connection.read_response()

    return connect


def admin_client(manifest: Manifest) -> Any:
    """The boundary's Redis as its ``admin`` ACL user (CONFIG, ACL: what only the lab's operations may run)."""
    return redis_as(manifest, "admin")
