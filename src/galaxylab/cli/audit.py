"""``audit``: no secret of the lab in any output, proven with a canary.

Needles: every value of every boundary's secret files (service and caller tokens, the operator
token, the signing key's body, Redis passwords, a TLS lab's host key: whatever the manifest lists in
``secrets.files``), read on the host that holds them, every TLS private key on the controller (the lab's CA
and each host's, ``<state dir>/secrets/.tls/*.key``), plus the session tokens and login codes the suites saw
(the harness records them under ``<state dir>/seen/``, tests.harness.seen).

Haystack: every file under each host's lab root except the secrets themselves, the Redis data (the
durable store holds sessions by design) and the releases (code); on the controller the reports
folder, the manifests and any extra log given (e.g. a bring-up at ``-vvvv``).

The canary: a fresh random value planted in a log file on the first host, added to the needles; the
audit fails unless it finds exactly that one hit, so a grep that cannot see a host's logs goes red.
Hits are reported by file and secret name, never by value.
"""

from __future__ import annotations

import json
import re
import secrets as random_secrets
import shlex
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from galaxylab.cli import hosts
from galaxylab.cli.output import Output
from galaxylab.cli.project import Project
from galaxylab.manifest import Manifest
from galaxylab.plan.files import TLS_DIR

CANARY_NAME = "canary"
CANARY_FILE = "log/audit-canary.log"
SEEN_DIR = "seen"
# Login codes are six digits: only where a value is written as a code (a key or word "code" nearby).
CODE_CONTEXT = 24
# Under a host's root: what is not output (the secrets, Redis's data, the code of the releases and their layers).
SKIPPED_DIRS = ("secrets", "data", "releases", "layers", "current")
SKIPPED_FILES = re.compile(r"(^|/)(dump\.rdb|appendonly[^/]*|[^/]*\.aof|[^/]*\.sock)$")
CONTROLLER_SKIPPED = ("secrets", SEEN_DIR, "locks")


@dataclass(frozen=True)
class Needle:
    name: str
    value: str
    code: bool = False  # a short login code: matched only next to the word "code"

    def found_in(self, text: str) -> bool:
        if not self.code:
            return self.value in text
        pattern = rf"code.{{0,{CODE_CONTEXT}}}(?<![0-9]){re.escape(self.value)}(?![0-9])"
        return re.search(pattern, text, re.IGNORECASE | re.DOTALL) is not None


@dataclass(frozen=True)
class Hit:
    where: str
    secret: str


def secret_needles(manifest: Manifest) -> list[Needle]:
    """Every value of the boundary's secret files (names: the file's name), read on its secrets host."""
    entry = manifest.hosts.get(manifest.secrets.host)
    if entry is None:
        return []
    found: dict[str, str] = {}
    for path in manifest.secrets.files:
        result = hosts.run(manifest.secrets.host, entry.testinfra, f"cat -- {shlex.quote(path)}")
        if result.rc != 0:
            continue
        for value in hosts.values_in(str(result.stdout)):
            # The key id is public by design (every token's header names it, the manifest publishes it).
            if len(value) >= hosts.MIN_SECRET and value != manifest.secrets.signing_kid:
                found.setdefault(value, f"{manifest.boundary}:{Path(path).name}")
    return [Needle(name, value) for value, name in found.items()]


def tls_key_needles(state_dir: Path) -> list[Needle]:
    """The body of every TLS private key of the lab (its CA's and each host's), as the controller holds them."""
    needles: dict[str, Needle] = {}
    for path in sorted((state_dir / "secrets" / TLS_DIR).glob("*.key")):
        for value in hosts.values_in(path.read_text(errors="replace")):
            if len(value) >= hosts.MIN_SECRET:
                needles.setdefault(value, Needle(f"tls:{path.name}", value))
    return list(needles.values())


def seen_needles(state_dir: Path) -> list[Needle]:
    """Session tokens and login codes the suites saw (one JSON object per line: kind, value)."""
    needles: dict[str, Needle] = {}
    for path in sorted((state_dir / SEEN_DIR).glob("*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            kind, value = str(item.get("kind", "")), str(item.get("value", ""))
            if kind == "login code" and value.isdigit():
                needles.setdefault(value, Needle(kind, value, code=True))
            elif len(value) >= hosts.MIN_SECRET:
                needles.setdefault(value, Needle(kind, value))
    return list(needles.values())


def scan(where: str, text: str, needles: Iterable[Needle]) -> list[Hit]:
    return [Hit(where, needle.name) for needle in needles if needle.found_in(text)]


def host_files(name: str, url: str, root: str) -> list[str]:
    prune = " -o ".join(f"-path {shlex.quote(f'{root}/{d}')}" for d in SKIPPED_DIRS)
    result = hosts.run(name, url, f"find {shlex.quote(root)} \\( {prune} \\) -prune -o -type f -print")
    return [p for p in str(result.stdout).splitlines() if p and not SKIPPED_FILES.search(p)]


def scan_host(name: str, url: str, root: str, needles: Sequence[Needle]) -> tuple[int, list[Hit]]:
    files = host_files(name, url, root)
    found: list[Hit] = []
    for path in files:
        result = hosts.run(name, url, f"cat -- {shlex.quote(path)}")
        if result.rc == 0:
            found.extend(scan(f"{name}:{path}", str(result.stdout), needles))
    return len(files), found


def controller_files(project: Project, extra: Iterable[Path]) -> Iterator[Path]:
    state = project.state_dir
    seen: set[Path] = set()
    for top in (project.reports, state):
        if not top.is_dir():
            continue
        for path in sorted(top.rglob("*")):
            if top == state and path.relative_to(state).parts[0] in CONTROLLER_SKIPPED:
                continue
            if path.is_file():
                seen.add(path.resolve())
                yield path
    yield from (p for p in extra if p.is_file() and p.resolve() not in seen)


def plant_canary(manifest: Manifest) -> tuple[str, str, str, Needle]:
    """A fresh random value written to a log file under the first host's root: (host, url, path, needle)."""
    name, entry = next(iter(manifest.hosts.items()))
    value = f"canary-{random_secrets.token_urlsafe(24)}"
    path = f"{entry.root}/{CANARY_FILE}"
    hosts.run(name, entry.testinfra, f"printf 'audit canary %s\\n' {shlex.quote(value)} > {shlex.quote(path)}")
    return name, entry.testinfra, path, Needle(CANARY_NAME, value)


def audit(out: Output, project: Project, logs: Sequence[Path]) -> int:
    manifests = project.manifests()
    needles: list[Needle] = [n for m in manifests for n in secret_needles(m)]
    needles += tls_key_needles(project.state_dir)
    needles += seen_needles(project.state_dir)
    canary_host, canary_url, canary_path, canary = plant_canary(manifests[0])
    needles.append(canary)

    hits: list[Hit] = []
    scanned = 0
    try:
        done: set[tuple[str, str]] = set()
        for manifest in manifests:
            for name, entry in manifest.hosts.items():
                if (entry.testinfra, entry.root) in done:
                    continue
                done.add((entry.testinfra, entry.root))
                count, found = scan_host(name, entry.testinfra, entry.root, needles)
                scanned += count
                hits += found
        for path in controller_files(project, logs):
            scanned += 1
            hits += scan(str(path), path.read_text(errors="replace"), needles)
    finally:
        hosts.run(canary_host, canary_url, f"rm -f -- {shlex.quote(canary_path)}")

    leaks = [hit for hit in hits if hit.secret != CANARY_NAME]
    canaries = [hit for hit in hits if hit.secret == CANARY_NAME]
    return report(out, scanned, len(needles), leaks, canaries, f"{canary_host}:{canary_path}")


def report(out: Output, scanned: int, needles: int, leaks: list[Hit], canaries: list[Hit], planted: str) -> int:
    canary_ok = [hit.where for hit in canaries] == [planted]
    table = Table(title="Secret audit")
    for column in ("where", "secret"):
        table.add_column(column)
    for hit in leaks:
        table.add_row(hit.where, hit.secret)
    if leaks:
        out.table(table)
    out.line(
        f"{scanned} files searched for {needles} secret values: {len(leaks)} leaks; "
        f"canary planted in {planted}: {'found there only' if canary_ok else 'NOT found as planted'}"
    )
    data: dict[str, Any] = {
        "files": scanned,
        "secrets": needles,
        "leaks": [hit.__dict__ for hit in leaks],
        "canary": {"planted": planted, "found": [hit.where for hit in canaries]},
    }
    out.document(data)
    return 0 if canary_ok and not leaks else 1
