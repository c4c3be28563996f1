"""``status`` and ``logs``: what runs where, read from the manifests and each host's supervisord."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from rich.markup import escape
from rich.table import Table

from galaxylab import ready
from galaxylab.cli import hosts
from galaxylab.cli.errors import OperatorError
from galaxylab.cli.output import Output
from galaxylab.cli.project import Project
from galaxylab.manifest import Manifest, Program
from galaxylab.plan.files import TLS_DIR
from galaxylab.secrets import CA_CERT_FILE

PROBE_SECONDS = 1.0
FOLLOW_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class ProgramStatus:
    boundary: str
    component: str
    program: str
    host: str
    state: str
    pid: int | None
    uptime: str
    ports: tuple[int, ...]
    ready: bool
    reason: str


async def probe(program: Program, ca: str | None = None) -> tuple[bool, str]:
    """One attempt of the program's readiness probe (Redis PING, GET /healthz, SMTP banner); a TLS probe verifies
    with ``ca`` (the controller's copy of the lab's CA)."""
    try:
        await asyncio.wait_for(ready.attempt(program.probe.url, ca if program.probe.ca else None), PROBE_SECONDS)
    except ready.NotReady as error:
        return False, str(error)
    except (TimeoutError, OSError) as error:
        return False, f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return True, "ready"


async def probe_all(programs: Sequence[Program], ca: str | None = None) -> list[tuple[bool, str]]:
    return list(await asyncio.gather(*(probe(program, ca) for program in programs)))


def collect(manifests: Sequence[Manifest], ca: str | None = None) -> list[ProgramStatus]:
    states = hosts.settled_supervisor_states(manifests)
    programs = [program for manifest in manifests for program in manifest.programs()]
    probes = asyncio.run(probe_all(programs, ca))
    found = []
    for program, (is_ready, reason) in zip(programs, probes, strict=True):
        state = states.get(program.name)
        found.append(
            ProgramStatus(
                boundary=program.boundary,
                component=program.component,
                program=program.name,
                host=program.host,
                state=state.state if state else "NOT CONFIGURED",
                pid=state.pid if state else None,
                uptime=state.uptime if state else "",
                ports=program.ports,
                ready=is_ready,
                reason=reason,
            )
        )
    return found


def status(out: Output, project: Project, inventory_path: str, names: Sequence[str]) -> int:
    project.inventory(inventory_path)
    rows = collect(project.select(names), str(project.state_dir / "secrets" / TLS_DIR / CA_CERT_FILE))
    table = Table(title="Lab status")
    for column in ("boundary", "component", "host", "state", "pid", "uptime", "ports", "ready"):
        table.add_column(column, justify="right" if column in ("pid",) else "left", no_wrap=column != "ready")
    previous = ""
    for row in rows:
        state = f"[green]{row.state}[/]" if row.state == "RUNNING" else f"[red]{row.state}[/]"
        readiness = "[green]ready[/]" if row.ready else f"[red]not ready[/] {escape(row.reason)}"
        ports = ",".join(str(p) for p in row.ports)
        shown = row.boundary if row.boundary != previous else ""
        previous = row.boundary
        table.add_row(shown, row.component, row.host, state, str(row.pid or "-"), row.uptime, ports, readiness)
    out.table(table)
    healthy = all(row.state == "RUNNING" and row.ready for row in rows)
    out.document({"verb": "status", "healthy": healthy, "programs": [asdict(row) for row in rows]})
    return 0 if healthy else 1


def pick(manifest: Manifest, program: str | None) -> list[Program]:
    """The boundary's programs, or the one named by component (``gateway``, ``redis``) or program name."""
    programs = manifest.programs()
    if program is None:
        return programs
    chosen = [p for p in programs if program in (p.component, p.name)]
    if not chosen:
        known = ", ".join(p.component for p in programs)
        raise OperatorError(
            "unknown_program", f"boundary {manifest.boundary} has no program {program!r} (it has: {known})"
        )
    return chosen


def logs(
    out: Output,
    project: Project,
    inventory_path: str,
    boundary: str,
    program: str | None,
    lines: int,
    follow: bool,
    follow_seconds: float | None = None,
) -> int:
    project.inventory(inventory_path)
    manifest = project.select([boundary])[0]
    chosen = pick(manifest, program)
    secrets = hosts.secret_values(manifest)
    prefix = len(chosen) > 1
    document: dict[str, str] = {}
    offsets: dict[str, int] = {}
    for p in chosen:
        url = manifest.hosts[p.host].testinfra
        if follow:
            offsets[p.name] = hosts.size(p.host, url, p.log)
        text = hosts.redact(hosts.tail(p.host, url, p.log, lines), secrets)
        document[p.name] = text
        if not out.json:
            if prefix:
                out.out.rule(f"{p.name} ({p.host}:{p.log})")
            out.out.print(escape(text.rstrip("\n")), highlight=False, soft_wrap=True)
    out.document({"verb": "logs", "boundary": boundary, "logs": document})
    if follow:
        _follow(out, manifest, chosen, offsets, secrets, prefix, follow_seconds)
    return 0


def _follow(
    out: Output,
    manifest: Manifest,
    chosen: Sequence[Program],
    offsets: dict[str, int],
    secrets: Sequence[str],
    prefix: bool,
    seconds: float | None,
) -> None:
    """Print what each log gains until interrupted (or ``seconds`` pass); a truncated log starts over."""
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        while deadline is None or time.monotonic() < deadline:
            for p in chosen:
                url = manifest.hosts[p.host].testinfra
                now = hosts.size(p.host, url, p.log)
                if now < offsets[p.name]:
                    offsets[p.name] = 0
                if now == offsets[p.name]:
                    continue
                text = hosts.read_from(p.host, url, p.log, offsets[p.name])
                offsets[p.name] += len(text.encode())
                for line in hosts.redact(text, secrets).splitlines():
                    label = f"[cyan]{p.component}[/] | " if prefix else ""
                    out.out.print(f"{label}{escape(line)}", highlight=False, soft_wrap=True)
            time.sleep(FOLLOW_POLL_SECONDS)
    except KeyboardInterrupt:
        return
