"""Least privilege on every lab host: nothing of the lab runs as root, and the lab user writes only its own.

Every process of every program the manifests name (and the host's supervisord) runs as the host's lab user
(``hosts.<host>.owner``, never root: real, effective, saved and filesystem ids); everything under the lab
root but its own directories (``hosts.<host>.writable``: runtime files, logs, Redis data, secrets) is not
writable by it (asked as that user: ``find -writable`` with its ids), and its own are its own all the way down.
Secrets and config files are checked in test_state.py.
"""

from __future__ import annotations

import shlex
from functools import cache
from typing import Any, NamedTuple

import pytest

from tests.harness.manifest import Host
from tests.lab.provisioned import host, lab_hosts, program_id, programs, supervisorctl

pytestmark = [pytest.mark.lab, pytest.mark.lab_state]

PS_FIELDS = "pid=,ppid=,ruid=,euid=,suid=,fsuid=,rgid=,egid=,args="


class Process(NamedTuple):
    pid: int
    ppid: int
    uids: tuple[int, int, int, int]  # real, effective, saved, filesystem
    gids: tuple[int, int]  # real, effective
    args: str

    def describe(self) -> str:
        return f"pid {self.pid} uids {self.uids} gids {self.gids}: {self.args[:80]}"


@cache
def processes(host_name: str) -> dict[int, Process]:
    """Every process of the host, one ``ps`` call."""
    found = {}
    for line in host(host_name).run(f"ps -e -ww -o {PS_FIELDS}").stdout.splitlines():
        fields = line.split(None, 8)
        if len(fields) >= 8:
            pid, ppid, ruid, euid, suid, fsuid, rgid, egid = (int(value) for value in fields[:8])
            args = fields[8] if len(fields) > 8 else ""
            found[pid] = Process(pid, ppid, (ruid, euid, suid, fsuid), (rgid, egid), args)
    return found


def tree(host_name: str, pid: int) -> list[Process]:
    """The process and all its descendants (a program's forks: e.g. a durable Redis rewriting its AOF)."""
    table = processes(host_name)
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        if current in table:
            found.append(table[current])
            pending += [p.pid for p in table.values() if p.ppid == current]
    return found


@cache
def lab_ids(host_name: str) -> tuple[int, int]:
    """(uid, gid) of the host's lab user and group, as the host resolves them."""
    entry = lab_hosts()[host_name]
    target = host(host_name)
    return target.user(entry.owner).uid, target.group(entry.group).gid


def foreign(host_name: str, found: list[Process]) -> list[str]:
    uid, gid = lab_ids(host_name)
    return [p.describe() for p in found if set(p.uids) != {uid} or set(p.gids) != {gid}]


@pytest.mark.parametrize("host_name", sorted(lab_hosts()))
def test_the_lab_user_is_not_root(host_name: str) -> None:
    entry = lab_hosts()[host_name]
    assert entry.owner != "root"
    assert entry.group != "root"
    assert 0 not in lab_ids(host_name), f"{entry.owner}:{entry.group} resolves to {lab_ids(host_name)}"


@pytest.mark.parametrize("host_name", sorted(lab_hosts()))
def test_supervisord_runs_as_the_lab_user(host_name: str) -> None:
    result = supervisorctl(host_name, "pid")
    assert result.rc == 0, result.stdout + result.stderr
    assert result.stdout.strip().isdigit(), result.stdout
    pid = int(result.stdout)
    assert pid in processes(host_name), f"supervisord pid {pid} is not running"
    offenders = foreign(host_name, [processes(host_name)[pid]])
    assert not offenders, f"supervisord of {host_name} is not {lab_hosts()[host_name].owner}: {offenders}"


@pytest.mark.parametrize("program", programs(), ids=program_id)
def test_every_process_of_the_program_runs_as_the_lab_user(program: Any, pids: dict[str, int]) -> None:
    assert program.name in pids, f"{program.name} has no pid (not running)"
    found = tree(program.host, pids[program.name])
    assert found, f"{program.name}: pid {pids[program.name]} is not running"
    offenders = foreign(program.host, found)
    assert not offenders, f"{program.name} runs as someone else than {lab_hosts()[program.host].owner}: {offenders}"


def as_lab_user(entry: Host, command: str) -> str:
    """``command`` run with the lab user's ids and groups (setpriv: no login, no PAM, no shell of its own),
    from ``/``: an SSH login starts in root's home, which the lab user may not enter (find would fail
    to return to it)."""
    ids = f"--reuid={shlex.quote(entry.owner)} --regid={shlex.quote(entry.group)} --init-groups"
    return f"cd / && setpriv {ids} -- {command}"


@pytest.mark.parametrize("host_name", sorted(lab_hosts()))
def test_the_lab_user_can_write_nothing_under_the_root_but_its_own_directories(host_name: str) -> None:
    """The root, releases (the code it runs), supervisord's and Redis's configs: read-only to the lab user."""
    entry = lab_hosts()[host_name]
    assert entry.writable, "the manifest names no directory of the lab user's"
    own = " -o ".join(f"-path {shlex.quote(path)}" for path in entry.writable)
    find = f"find {shlex.quote(entry.root)} \\( {own} \\) -prune -o -writable -print"
    result = host(host_name).run(as_lab_user(entry, find))
    assert result.rc == 0, result.stderr
    assert result.stdout.split() == [], f"writable by {entry.owner} on {host_name}"


@pytest.mark.parametrize("host_name", sorted(lab_hosts()))
def test_its_own_directories_are_the_lab_users_all_the_way_down(host_name: str) -> None:
    entry = lab_hosts()[host_name]
    paths = " ".join(shlex.quote(path) for path in entry.writable)
    owner, group = shlex.quote(entry.owner), shlex.quote(entry.group)
    result = host(host_name).run(f"find {paths} \\( ! -user {owner} -o ! -group {group} \\) -printf '%p %u:%g\\n'")
    assert result.rc == 0, result.stderr
    assert result.stdout.splitlines() == [], f"not {entry.owner}:{entry.group} on {host_name}"
