"""``galaxy.lab.*`` filters over galaxylab.plan: the playbooks and roles loop over data this computes.

The controller's venv has the project installed (``make venv``), so ``galaxylab`` imports as usual.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from galaxylab import plan


def lab_hosts(hostvars: Mapping[str, Any], names: Sequence[str]) -> dict[str, dict[str, str]]:
    """``{host: {address, root, testinfra, owner, group}}`` from the ``galaxylab_*`` host vars."""
    hosts: dict[str, dict[str, str]] = {}
    for name in names:
        values = hostvars[name]
        hosts[name] = {
            "address": values.get("galaxylab_address", ""),
            "root": values.get("galaxylab_root", ""),
            "testinfra": values.get("galaxylab_testinfra", ""),
            "owner": values.get("galaxylab_owner", "root"),
            "group": values.get("galaxylab_group", "root"),
        }
    return hosts


def select_boundaries(
    boundaries: Sequence[Mapping[str, Any]], names: Sequence[str] | str | None = None, port_offset: int = 0
) -> list[dict[str, Any]]:
    """The boundaries the inventory selects (``galaxylab_boundary_names``), moved by ``galaxylab_port_offset``."""
    if isinstance(port_offset, str) and port_offset.strip().lstrip("-").isdigit():
        port_offset = int(port_offset)  # from `-e galaxylab_port_offset=100`
    return plan.select_boundaries(boundaries, names, port_offset)


def boundary_hosts(
    boundaries: Sequence[Mapping[str, Any]],
    default_host: str,
    placement: Mapping[str, Mapping[str, str]] | None,
    hosts: Mapping[str, Mapping[str, Any]],
) -> dict[str, list[str]]:
    """``{host: [boundary]}``: which boundaries have something on each host."""
    return plan.boundary_hosts(boundaries, plan.parse_placement(default_host, placement), plan.parse_hosts(hosts))


def lab_plan(
    boundaries: Sequence[Mapping[str, Any]],
    default_host: str,
    placement: Mapping[str, Mapping[str, str]] | None,
    hosts: Mapping[str, Mapping[str, Any]],
    kids: Mapping[str, str],
    release: str,
    redis_server: str = "/usr/bin/redis-server",
) -> dict[str, Any]:
    """The whole lab plan (see galaxylab.plan.build_plan)."""
    return plan.build_plan(
        boundaries,
        plan.parse_placement(default_host, placement),
        plan.parse_hosts(hosts),
        kids=kids,
        release=release,
        redis_server=redis_server,
    )


def secrets_argv(boundary_hosts_map: Mapping[str, Sequence[str]], directory: str) -> list[str]:
    """Arguments of ``galaxylab.secrets ensure`` for every boundary, one bundle per host."""
    boundaries = sorted({b for names in boundary_hosts_map.values() for b in names})
    argv = ["ensure", directory, "--boundary", *boundaries] if boundaries else ["ensure", directory]
    for host, names in sorted(boundary_hosts_map.items()):
        argv += ["--bundle", f"{host}={','.join(names)}"]
    return argv


def dirs_to_fix(wanted: Sequence[Mapping[str, str]], found: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The wanted directories that ``find`` did not report with the wanted mode, owner and group."""
    existing = {str(item["path"]).rstrip("/"): item for item in found}
    fix = []
    for directory in wanted:
        seen = existing.get(directory["path"].rstrip("/"))
        if (
            seen is None
            or not seen.get("isdir", True)
            or str(seen.get("mode")) != directory["mode"]
            or seen.get("pw_name") != directory["owner"]
            or seen.get("gr_name") != directory["group"]
        ):
            fix.append(dict(directory))
    return fix


def dirs_by_attributes(wanted: Sequence[Mapping[str, str]]) -> list[dict[str, Any]]:
    """Directories grouped by (mode, owner, group), so ``install -d`` lays out many in one call."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for directory in wanted:
        key = (directory["mode"], directory["owner"], directory["group"])
        groups.setdefault(key, []).append(directory["path"])
    return [{"mode": m, "owner": o, "group": g, "paths": paths} for (m, o, g), paths in groups.items()]


def ready_argv(checks: Sequence[Mapping[str, str]]) -> list[str]:
    """``--check NAME=URL`` arguments of ``galaxylab.ready``."""
    argv: list[str] = []
    for check in checks:
        argv += ["--check", f"{check['name']}={check['url']}"]
    return argv


class FilterModule:
    """galaxy.lab.* filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "lab_hosts": lab_hosts,
            "select_boundaries": select_boundaries,
            "boundary_hosts": boundary_hosts,
            "plan": lab_plan,
            "secrets_argv": secrets_argv,
            "dirs_to_fix": dirs_to_fix,
            "dirs_by_attributes": dirs_by_attributes,
            "ready_argv": ready_argv,
            "supervisor_environment": plan.supervisor_environment,
        }
