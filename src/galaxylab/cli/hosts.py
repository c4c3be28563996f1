"""The lab's hosts through testinfra's host abstraction (``local://``, ``ssh://``...), never by guessing.

One ``supervisorctl status`` per host for every program, log tails with ``tail``, listening sockets
with ``ss``, and the redaction of secret values in anything read back from a host.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import testinfra
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_fixed

from galaxylab.cli.errors import OperatorError
from galaxylab.manifest import Manifest

UNREACHABLE = 255  # what ssh exits with when it cannot connect
REDACTED = "[redacted]"
MIN_SECRET = 8  # shorter strings are not secrets worth hunting (and would redact ordinary words)
_STATUS = re.compile(r"^(?P<name>\S+)\s+(?P<state>[A-Z]+)\s*(?P<rest>.*)$")
_PID = re.compile(r"pid (?P<pid>\d+), uptime (?P<uptime>[\d:]+(?: days?, [\d:]+)?)")
# supervisord calls a started program STARTING for its ``startsecs`` (1 s in the lab) plus up to a second of its
# own pace, also when the program is ready long before (a bring-up returns once every program is ready).
STARTING = "STARTING"
SETTLE_SECONDS = 5.0
SETTLE_POLL_SECONDS = 0.2
_SS_USER = re.compile(r'\("(?P<command>[^"]+)",pid=(?P<pid>\d+)')


@dataclass(frozen=True)
class ProgramState:
    name: str
    state: str
    pid: int | None = None
    uptime: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Listener:
    port: int
    address: str
    pid: int | None
    command: str


@cache
def host(url: str) -> Any:
    return testinfra.get_host(url)


def run(name: str, url: str, command: str) -> Any:
    """Run ``command`` on the host; an operator error when the host cannot be reached."""
    try:
        result = host(url).run(command)
    except Exception as error:  # noqa: BLE001 - any backend failure to connect is the same mistake
        raise unreachable(name, url, str(error)) from None
    if result.rc == UNREACHABLE and not url.startswith("local://"):
        raise unreachable(name, url, result.stderr)
    return result


def unreachable(name: str, url: str, reason: str) -> OperatorError:
    first = next((line.strip() for line in reason.splitlines() if line.strip()), "no answer")
    return OperatorError(
        "host_unreachable",
        f"host {name} cannot be reached through {url} ({first}): check the inventory's address, SSH user and key",
    )


def reach(name: str, url: str) -> None:
    run(name, url, "true")


def parse_status(output: str) -> dict[str, ProgramState]:
    """``supervisorctl status`` lines by program name (``group:name`` reduced to ``name``)."""
    states: dict[str, ProgramState] = {}
    for line in output.splitlines():
        match = _STATUS.match(line.strip())
        if not match:
            continue
        name = match["name"].split(":")[-1]
        rest = match["rest"].strip()
        pid = _PID.search(rest)
        states[name] = ProgramState(
            name=name,
            state=match["state"],
            pid=int(pid["pid"]) if pid else None,
            uptime=pid["uptime"] if pid else "",
            detail="" if pid else rest,
        )
    return states


def supervisor_states(manifests: Iterable[Manifest]) -> dict[str, ProgramState]:
    """Every program's state, asking each host's supervisord once."""
    hosts: dict[str, tuple[str, str]] = {}
    for manifest in manifests:
        for name, entry in manifest.hosts.items():
            hosts.setdefault(name, (entry.testinfra, entry.supervisorctl))
    states: dict[str, ProgramState] = {}
    for name, (url, supervisorctl) in sorted(hosts.items()):
        states.update(parse_status(run(name, url, f"{supervisorctl} status").stdout))
    return states


def settled_supervisor_states(manifests: Iterable[Manifest], within: float = SETTLE_SECONDS) -> dict[str, ProgramState]:
    """``supervisor_states`` once no program is STARTING any more (it turns RUNNING, or BACKOFF and FATAL when it
    does not stay up), or what the hosts say when ``within`` seconds have passed."""
    chosen = list(manifests)
    retrying = Retrying(
        stop=stop_after_delay(within),
        wait=wait_fixed(SETTLE_POLL_SECONDS),
        retry=retry_if_result(lambda states: any(s.state == STARTING for s in states.values())),
        retry_error_callback=lambda attempt: attempt.outcome.result() if attempt.outcome else {},
    )
    states: dict[str, ProgramState] = retrying(supervisor_states, chosen)
    return states


def tail(name: str, url: str, path: str, lines: int) -> str:
    result = run(name, url, f"tail -n {int(lines)} -- {shlex.quote(path)}")
    return str(result.stdout) if result.rc == 0 else ""


def size(name: str, url: str, path: str) -> int:
    result = run(name, url, f"stat -c %s -- {shlex.quote(path)}")
    return int(result.stdout.strip()) if result.rc == 0 and result.stdout.strip().isdigit() else 0


def read_from(name: str, url: str, path: str, offset: int) -> str:
    """The bytes of ``path`` after ``offset`` (what ``logs --follow`` prints as it grows)."""
    result = run(name, url, f"tail -c +{int(offset) + 1} -- {shlex.quote(path)}")
    return str(result.stdout) if result.rc == 0 else ""


def parse_listeners(output: str) -> list[Listener]:
    """``ss -Hltnp`` lines: local address, port and the owning process (when ss may say)."""
    found = []
    for line in output.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[0] != "LISTEN":
            continue
        address, _, port = fields[3].rpartition(":")
        if not port.isdigit():
            continue
        user = _SS_USER.search(line)
        found.append(
            Listener(
                port=int(port),
                address=address.strip("[]"),
                pid=int(user["pid"]) if user else None,
                command=user["command"] if user else "",
            )
        )
    return found


def descendants(ps_output: str, roots: set[int]) -> set[int]:
    """The pids of ``roots`` and all their descendants, from ``ps -eo pid=,ppid=`` output."""
    children: dict[int, list[int]] = {}
    for line in ps_output.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0].isdigit() and fields[1].isdigit():
            children.setdefault(int(fields[1]), []).append(int(fields[0]))
    found, todo = set(roots), list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def lab_pids(name: str, url: str, root: str) -> set[int]:
    """The lab's supervisord on the host (the one run from ``root``) and everything it runs."""
    ps = run(name, url, "ps -eo pid=,ppid=,args=").stdout
    conf = f"{root.rstrip('/')}/supervisor/supervisord.conf"
    roots = {int(line.split()[0]) for line in ps.splitlines() if "supervisord" in line and conf in line.split()[2:]}
    return descendants(ps, roots)


def listeners(name: str, url: str) -> list[Listener]:
    return parse_listeners(run(name, url, "ss -Hltnp").stdout)


def secret_values(manifest: Manifest) -> list[str]:
    """The values in the boundary's secret files (read on the host holding them), longest first."""
    secrets = manifest.secrets
    entry = manifest.hosts.get(secrets.host)
    if entry is None:
        return []
    values: set[str] = {secrets.signing_kid}
    for path in secrets.files:
        result = run(secrets.host, entry.testinfra, f"cat -- {shlex.quote(path)}")
        if result.rc == 0:
            values.update(values_in(str(result.stdout)))
    return sorted((v for v in values if len(v) >= MIN_SECRET), key=len, reverse=True)


def values_in(content: str) -> set[str]:
    """A secret file's content, each line of it, and each string in it if it is JSON."""
    text = content.strip()
    found = {text, *(line.strip() for line in text.splitlines() if "-----" not in line)}
    try:
        data = json.loads(text)
    except ValueError:
        return found
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, str):
                found.update(values_in(value))
    return found


def redact(text: str, secrets: Iterable[str]) -> str:
    for value in secrets:
        if value:
            text = text.replace(value, REDACTED)
    return text
