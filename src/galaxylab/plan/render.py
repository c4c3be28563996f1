"""The files a lab host runs from, rendered on the controller: supervisord.conf, one program file per
boundary (``conf.d/<boundary>.conf``) and each Redis instance's ``redis.conf``.

Rendering here (through the ``galaxy.lab`` filters the roles call) instead of one ``template`` task
per boundary lets a host receive all of its files in one module call (``galaxy.lab.lab_files``),
which reports exactly which of them changed. Each function returns the file as
``{path, content, mode, owner, group}``; nothing here reads a secret (programs get ``*_FILE`` paths).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from galaxylab.plan.build import supervisor_environment

Json = dict[str, Any]
CONFIG_MODE = "0640"
# ACL LOG entries each Redis keeps: enough for every refusal of a whole run of the suites and state checks.
ACL_LOG_MAX_LEN = 1024
# Set on a Redis program to its redis.conf checksum: a changed config changes the program definition,
# so ``supervisorctl update`` restarts the instance (supervisord does not watch the file itself).
CONFIG_SHA1_ENV = "GALAXYLAB_CONFIG_SHA1"


@dataclass(frozen=True)
class ProgramPolicy:
    """How supervisord runs every program (service_instance's inputs)."""

    startsecs: int = 1
    startretries: int = 3
    stopwaitsecs: int = 10
    log_maxbytes: str = "10MB"
    log_backups: int = 2


def _comment(text: str, prefix: str) -> str:
    return "\n".join(f"{prefix} {line}".rstrip() for line in text.splitlines()) + "\n" if text else ""


def config_file(path: str, content: str, owner: str, group: str, mode: str = CONFIG_MODE) -> Json:
    return {"path": path, "content": content, "mode": mode, "owner": owner, "group": group}


def program_conf(
    group: Mapping[str, Any],
    policy: ProgramPolicy,
    extra_environment: Mapping[str, Mapping[str, str]] | None = None,
    header: str = "",
) -> str:
    """``conf.d/<boundary>.conf``: one ``[program:]`` per program and the boundary's ``[group:]``."""
    extra = extra_environment or {}
    boundary = group["boundary"]
    lines = [
        _comment(header, ";").rstrip("\n"),
        f"; Programs of boundary {boundary} on this host; supervisorctl update applies changes.",
    ]
    for program in group["programs"]:
        # Sorted: the file depends on the environment, not on the order its variables were given in.
        env = dict(sorted({**program["env"], **extra.get(program["name"], {})}.items()))
        lines += ["", f"[program:{program['name']}]", f"command={program['command']}"]
        lines += [f"directory={program['directory']}", f"user={program['user']}", f"priority={program['priority']}"]
        if env:
            lines.append(f"environment={supervisor_environment(env)}")
        lines += [
            "autostart=true",
            "autorestart=true",
            f"startsecs={policy.startsecs}",
            f"startretries={policy.startretries}",
            "stopsignal=TERM",
            f"stopwaitsecs={policy.stopwaitsecs}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={program['log']}",
            f"stdout_logfile_maxbytes={policy.log_maxbytes}",
            f"stdout_logfile_backups={policy.log_backups}",
        ]
    names = ",".join(program["name"] for program in group["programs"])
    lines += ["", f"[group:{boundary}]", f"programs={names}"]
    return "\n".join(lines).lstrip("\n") + "\n"


def redis_conf(config: Mapping[str, Any], extra_directives: Mapping[str, Any] | None = None, header: str = "") -> str:
    """A boundary's ``redis.conf``: ephemeral (never writes) or durable (AOF, fsync on every write)."""
    tls = config.get("tls")
    listen = [f"port {config['port']}"]
    if tls:
        listen = [
            "# TLS only (galaxylab_tls): no plain-text port; clients verify this host's certificate with the lab's",
            "# CA and log in with their ACL passwords (no client certificate asked).",
            "port 0",
            f"tls-port {config['port']}",
            f"tls-cert-file {tls['cert']}",
            f"tls-key-file {tls['key']}",
            f"tls-ca-cert-file {tls['ca']}",
            "tls-auth-clients no",
        ]
    lines = [
        _comment(header, "#").rstrip("\n"),
        f"# Redis of boundary {config['boundary']} ({config['mode']}),",
        f"# run in the foreground by the lab's supervisord as {config['program']}.",
        f"bind {config['bind']}",
        *listen,
        "# yes on loopback; no on a host's own address, where the boundary's other hosts connect.",
        f"protected-mode {config.get('protected_mode', 'yes')}",
        "daemonize no",
        "supervised no",
        'logfile ""',
        "loglevel notice",
        "databases 16",
        f"dir {config['dir']}",
        'save ""',
        "# Refusals kept in ACL LOG (Redis keeps 128): the state checks read them all after the suites.",
        f"acllog-max-len {ACL_LOG_MAX_LEN}",
    ]
    if config.get("mode", "ephemeral") == "durable":
        lines += [
            "# Durable: every write is in the append-only file before it is acknowledged.",
            "appendonly yes",
            "appendfsync always",
            'appenddirname "appendonlydir"',
        ]
    else:
        lines += ["# Ephemeral: nothing is ever written to disk.", "appendonly no"]
    users = config.get("users", [])
    if users:
        lines += [
            "# ACL (galaxylab.plan.acl): default user off, one user per service, the harness, the lab's",
            "# operations and a PING-only probe; passwords as SHA-256 digests, never in clear.",
            *users,
        ]
    lines += [f"{directive} {value}" for directive, value in (extra_directives or {}).items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def supervisord_conf(supervisor: Mapping[str, Any], root: str, release: str, header: str = "") -> str:
    """The lab's own supervisord: who it runs as, its socket, log, pidfile and the ``conf.d/*.conf`` it includes.

    Started by root, it drops to the lab user (``user=``) before it opens its socket, log or pidfile, so
    nothing of the lab runs as root; root's supervisorctl still reaches the socket (0700, the lab user's).
    """
    user, group = supervisor["user"], supervisor["group"]
    return (
        _comment(header, ";")
        + f"""; The lab's own supervisord; programs are in conf.d/<boundary>.conf, one [group:] per boundary.
; Runs from release {release}, as {user}.
[unix_http_server]
file={supervisor["socket"]}
chmod=0700
chown={user}:{group}

[supervisord]
user={user}
logfile={supervisor["log"]}
logfile_maxbytes=10MB
logfile_backups=2
loglevel=info
pidfile={supervisor["pidfile"]}
childlogdir={root}/log
directory={root}
identifier=galaxylab
umask=027
minfds=4096
nodaemon=false

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{supervisor["socket"]}

[include]
files = {supervisor["conf_dir"]}/*.conf
"""
    )


def redis_files(
    configs: Sequence[Mapping[str, Any]],
    owner: str,
    group: str,
    extra_directives: Mapping[str, Any] | None = None,
    header: str = "",
) -> list[Json]:
    """Every Redis instance's config file of a host, each with its ``program`` and content ``sha1``."""
    files = []
    for config in configs:
        content = redis_conf(config, extra_directives, header)
        file = config_file(config["conf"], content, owner, group)
        file.update(program=config["program"], sha1=hashlib.sha1(content.encode(), usedforsecurity=False).hexdigest())
        files.append(file)
    return files


def restart_environment(files: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """``{program: {GALAXYLAB_CONFIG_SHA1: sha1}}`` for config files that restart their program on change."""
    return {file["program"]: {CONFIG_SHA1_ENV: file["sha1"]} for file in files if file.get("program")}


def program_files(
    groups: Sequence[Mapping[str, Any]],
    owner: str,
    group: str,
    policy: ProgramPolicy,
    extra_environment: Mapping[str, Mapping[str, str]] | None = None,
    header: str = "",
) -> list[Json]:
    """One program file per boundary group of a host."""
    return [config_file(g["conf"], program_conf(g, policy, extra_environment, header), owner, group) for g in groups]
