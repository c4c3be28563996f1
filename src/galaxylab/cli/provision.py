"""``up``, ``down`` and ``idempotence``: the playbooks, checked before they run and summed up after."""

from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rich.markup import escape
from rich.table import Table

from galaxylab import idempotence
from galaxylab.cli import hosts, inventory, playbook
from galaxylab.cli.errors import OperatorError
from galaxylab.cli.output import Output
from galaxylab.cli.project import Project
from galaxylab.manifest import Manifest

UP = "playbooks/up.yml"
DOWN = "playbooks/down.yml"


@dataclass(frozen=True)
class Target:
    """A checked run: the inventory, the boundaries it covers and the ansible-playbook arguments."""

    project: Project
    inventory: inventory.Inventory
    boundaries: list[str]
    args: list[str]


def euid() -> int:
    return os.geteuid()


def require_root(inv: inventory.Inventory, verb: str) -> None:
    """Local lab hosts are provisioned by this process: it must be root (remote ones are reached as root)."""
    local = [name for name, v in inv.hosts.items() if v.galaxylab_testinfra.startswith("local://")]
    if local and euid() != 0:
        raise OperatorError(
            "not_root",
            f"galaxylab {verb} provisions {', '.join(local)} as this user, which is not root "
            f"(it installs Debian's redis-server and writes {inv.hosts[local[0]].galaxylab_root}): run it with sudo",
        )


def prepare(project: Project, inventory_path: str, names: Sequence[str], extra: Sequence[str], verb: str) -> Target:
    path = project.inventory(inventory_path)
    inv = inventory.load(path)
    selected = inv.selection(names, project.boundary_names())
    require_root(inv, verb)
    for name, values in inv.hosts.items():
        hosts.reach(name, values.galaxylab_testinfra)
    args = ["-i", str(path), *extra]
    if names:
        args += ["-e", f"galaxylab_boundary_names={','.join(selected)}"]
    return Target(project, inv, selected, args)


def check_ports(target: Target) -> None:
    """Every port the selected boundaries will listen on is free, or already the lab's own (a re-run)."""
    planned = target.inventory.planned_ports(target.project.boundary_table(), target.boundaries)
    for name, ports in sorted(planned.items()):
        values = target.inventory.hosts[name]
        url = values.galaxylab_testinfra
        taken = [listener for listener in hosts.listeners(name, url) if listener.port in ports]
        if not taken:
            continue
        ours = hosts.lab_pids(name, url, values.galaxylab_root)
        for listener in taken:
            if listener.pid is None or listener.pid not in ours:
                owner = f"{listener.command} (pid {listener.pid})" if listener.pid else "a process ss cannot name"
                raise OperatorError(
                    "port_taken",
                    f"port {listener.port} on {name}, which {ports[listener.port]} needs, is taken by {owner} "
                    f"outside the lab: stop it, or move the lab with galaxylab_port_offset in the inventory",
                )


def run_with_progress(out: Output, target: Target, book: str, args: Sequence[str], log: Path) -> idempotence.RunReport:
    def view(progress: playbook.Progress) -> Table:
        table = Table(title=f"ansible-playbook {book}", caption=progress.task, caption_justify="left")
        for column in ("host / boundary", "ok", "changed", "failed", "last task"):
            table.add_column(column, justify="right" if column in ("ok", "changed", "failed") else "left")
        for name, row in progress.hosts.items():
            failed = f"[red]{row.failed}[/]" if row.failed else "0"
            table.add_row(name, str(row.ok), str(row.changed), failed, row.task[:60])
        return table

    with out.live(view(playbook.Progress())) as live:
        report = playbook.run(
            book, [*target.args, *args], target.project.root, log, on_progress=lambda p: live.update(view(p))
        )
    return report


def summarize(out: Output, title: str, report: idempotence.RunReport) -> list[dict[str, Any]]:
    rows = playbook.by_boundary(report)
    table = Table(title=title)
    for column in ("boundary", "result", "ok", "changed", "failed", "task seconds"):
        table.add_column(column, justify="left" if column in ("boundary", "result") else "right")
    for name, row in rows.items():
        result = "[red]FAIL[/]" if row.failed else "[green]OK[/]"
        table.add_row(name, result, str(row.ok), str(row.changed), str(row.failed), f"{row.seconds:.1f}")
    out.table(table)
    out.line(f"ansible-playbook exit {report.returncode} in {report.seconds:.1f}s, {len(report.changed)} changed")
    return [{"boundary": name, **vars(row)} for name, row in rows.items()]


def explain_failure(out: Output, report: idempotence.RunReport, log: Path) -> None:
    unreachable = [task for task in report.tasks if task.status == "unreachable"]
    if unreachable:
        task = unreachable[0]
        raise OperatorError(
            "host_unreachable",
            f"host {task.host} could not be reached by Ansible ({task.task}): check its address, SSH user and key "
            f"(full output in {log})",
        )
    for task in report.failed:
        out.note(f"[red]FAILED[/] {escape(task.describe())}")
    tail = "\n".join(report.output.splitlines()[-25:])
    out.note(escape(tail))
    out.note(f"full output in {log}")


def up(out: Output, project: Project, inventory_path: str, names: Sequence[str], extra: Sequence[str]) -> int:
    target = prepare(project, inventory_path, names, extra, "up")
    check_ports(target)
    log = project.reports / "up.log"
    report = run_with_progress(out, target, UP, [], log)
    rows = summarize(out, "Bring-up", report)
    changed = [{"host": t.host, "task": t.task, "items": t.changed_items} for t in report.changed]
    out.document(
        {
            "verb": "up",
            "returncode": report.returncode,
            "seconds": report.seconds,
            "boundaries": rows,
            "changed": changed,
        }
    )
    if report.returncode != 0:
        explain_failure(out, report, log)
        return 1
    return 0


def idempotent(out: Output, project: Project, inventory_path: str, extra: Sequence[str]) -> int:
    """Re-run bring-up in diff mode; any changed task is a failure, shown with its host and diff."""
    target = prepare(project, inventory_path, (), extra, "idempotence")
    log = project.reports / "idempotence.log"
    report = run_with_progress(out, target, UP, ["--diff"], log)
    rows = summarize(out, "Idempotence (a second bring-up must change nothing)", report)
    shown = playbook.diffs(report.output)
    changed = [
        {"host": t.host, "task": t.task, "path": t.path, "items": t.changed_items, "diff": shown.get(t.task, [])}
        for t in report.changed
    ]
    for task in changed:
        out.line(
            f"[red]CHANGED[/] {escape(str(task['host']))}: {escape(str(task['task']))} ({escape(str(task['path']))})"
        )
        for line in task["diff"][:40]:
            out.line(f"    {escape(line)}")
        if not task["diff"]:
            out.line("    (no diff shown: the task prints none, or hides its output with no_log)")
    out.document({"verb": "idempotence", "returncode": report.returncode, "changed": changed, "boundaries": rows})
    if report.returncode != 0:
        explain_failure(out, report, log)
        return 1
    return 1 if changed else 0


def down(out: Output, project: Project, inventory_path: str, names: Sequence[str], extra: Sequence[str]) -> int:
    target = prepare(project, inventory_path, names, extra, "down")
    before = _manifests_or_none(project)
    log = project.reports / "down.log"
    report = _remove_boundaries(out, target, log) if names else run_with_progress(out, target, DOWN, [], log)
    rows = summarize(out, "Teardown", report)
    if report.returncode != 0:
        out.document({"verb": "down", "returncode": report.returncode, "boundaries": rows, "left": []})
        explain_failure(out, report, log)
        return 1
    gone = [m for m in before if m.boundary in target.boundaries] if names else before
    left = leftovers(project, target, gone, whole_lab=not names)
    for item in left:
        out.line(f"[red]LEFT[/] {escape(item)}")
    if not left:
        out.line("[green]leaves nothing[/]: no process, port or file of the torn-down boundaries is left")
    out.document({"verb": "down", "returncode": report.returncode, "boundaries": rows, "left": left})
    return 1 if left else 0


def _manifests_or_none(project: Project) -> list[Manifest]:
    try:
        return project.manifests()
    except OperatorError:
        return []


def _remove_boundaries(out: Output, target: Target, log: Path) -> idempotence.RunReport:
    """Bring-up with the named boundaries marked ``state: absent``: removes just them, everywhere."""
    table = target.project.boundary_table()
    for item in table:
        if item.get("name") in target.boundaries:
            item["state"] = "absent"
    with tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="galaxylab-down-") as data:
        yaml.safe_dump({"galaxylab_boundaries": table}, data)
        data.flush()
        return run_with_progress(out, target, UP, ["-e", f"@{data.name}"], log)


def leftovers(project: Project, target: Target, gone: Sequence[Manifest], whole_lab: bool) -> list[str]:
    """What is still there of what was torn down: listening ports, programs, processes, files."""
    left: list[str] = []
    for manifest in gone:
        for program in manifest.programs():
            url = manifest.hosts[program.host].testinfra
            listening = {listener.port for listener in hosts.listeners(program.host, url)}
            left += [
                f"{program.host}: port {p} of {program.name} is listening" for p in program.ports if p in listening
            ]
        if (project.manifests_dir / f"{manifest.boundary}.json").exists():
            left.append(f"controller: the manifest of {manifest.boundary} is still there")
    if whole_lab:
        for name, values in target.inventory.hosts.items():
            url, root = values.galaxylab_testinfra, values.galaxylab_root
            ps = hosts.run(name, url, "ps -eww -o pid=,args=").stdout.splitlines()
            left += [f"{name}: process {line.strip()}" for line in ps if root.rstrip("/") + "/" in line]
            if hosts.run(name, url, f"test -e {shlex.quote(root)}").rc == 0:
                left.append(f"{name}: {root} still exists")
        if project.state_dir.exists():
            left.append(f"controller: {project.state_dir} still exists")
    return left
