"""The lab plan: per host, per (host, boundary) slice, and per boundary manifest — what the playbooks loop over."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from galaxylab.plan.catalog import REDIS, Catalog, default_catalog
from galaxylab.plan.inputs import Host, Placement, PlanError, parse_boundaries
from galaxylab.plan.layout import Json, Resolved, host_plan, redis_config, resolve
from galaxylab.plan.manifests import build_manifest
from galaxylab.plan.wiring import RELEASE_ENV, environment

SLICE_SEPARATOR = "~"
# supervisord priorities: lower starts first and stops last (Redis, then doubles, then services).
PRIORITIES = {REDIS: 100, "double": 200, "service": 300}


def boundary_hosts(
    boundaries: Sequence[Mapping[str, Any]],
    placement: Placement,
    hosts: Mapping[str, Host],
    catalog: Catalog | None = None,
) -> dict[str, list[str]]:
    """Which present boundaries each host runs something of: ``{host: [boundary]}``."""
    catalog = catalog or default_catalog()
    result: dict[str, list[str]] = {name: [] for name in hosts}
    for boundary in parse_boundaries(boundaries, catalog):
        if boundary.state == "present":
            for host in resolve(boundary, placement, hosts, catalog).unique_hosts():
                result[host.name].append(boundary.name)
    return result


def build_plan(
    boundaries: Sequence[Mapping[str, Any]],
    placement: Placement,
    hosts: Mapping[str, Host],
    *,
    kids: Mapping[str, str] | None = None,
    release: str = "",
    redis_server: str = "/usr/bin/redis-server",
    catalog: Catalog | None = None,
) -> Json:
    """Everything the playbooks need: per host, per (host, boundary) slice, and per boundary manifests."""
    catalog = catalog or default_catalog()
    kids = kids or {}
    resolved = [resolve(b, placement, hosts, catalog) for b in parse_boundaries(boundaries, catalog)]
    plan: Json = {"hosts": {}, "slices": [], "manifests": {}, "absent_manifests": []}
    for host in hosts.values():
        plan["hosts"][host.name] = host_plan(host, [r for r in resolved if host in r.hosts.values()])
    for res in resolved:
        if res.boundary.state == "absent":
            plan["absent_manifests"].append(res.name)
            plan["slices"].extend(_absent_slice(res, host) for host in res.unique_hosts())
            continue
        if res.name not in kids:
            raise PlanError(f"boundary {res.name}: no signing kid (run galaxylab.secrets ensure first)")
        generated = {"signing_kid": kids[res.name]}
        manifest = build_manifest(res, generated).model_dump(mode="json")
        plan["manifests"][res.name] = manifest
        for index, host in enumerate(res.unique_hosts()):
            first = manifest if index == 0 else None
            plan["slices"].append(_slice(res, host, generated, release, redis_server, first))
    for host_plan_ in plan["hosts"].values():
        host_plan_["programs"] = [
            program
            for slice_ in plan["slices"]
            if slice_["host"] == host_plan_["name"] and slice_["state"] == "present"
            for program in slice_["programs"]
        ]
    return plan


def _slice_base(res: Resolved, host: Host, state: str) -> Json:
    return {
        "name": f"{host.name}{SLICE_SEPARATOR}{res.name}",
        "host": host.name,
        "boundary": res.name,
        "state": state,
        "root": host.root,
        "owner": host.owner,
        "group": host.group,
        "program_conf": host.path("supervisor", "conf.d", f"{res.name}.conf"),
        "supervisorctl": host.supervisorctl(),
    }


def _absent_slice(res: Resolved, host: Host) -> Json:
    return {
        **_slice_base(res, host, "absent"),
        # What the boundary leaves on the host once its programs are gone.
        "paths": [host.path(sub, res.name) for sub in ("log", "secrets")],
        "programs": [],
        "redis": {"paths": [host.path(sub, res.name) for sub in ("etc", "data")]},
        "manifest": None,
    }


def _slice(
    res: Resolved, host: Host, generated: dict[str, str], release: str, redis_server: str, manifest: Json | None
) -> Json:
    programs: list[Json] = []
    redis: Json | None = None
    if res.hosts[REDIS] == host:
        redis = redis_config(res)
        programs.append(_program(res, REDIS, [redis_server, redis["conf"]], {}, PRIORITIES[REDIS]))
    for component in res.boundary.components:
        if res.hosts[component] == host:
            spec = res.catalog.spec(component)
            env = {**environment(res, component, generated), RELEASE_ENV: release}
            programs.append(_program(res, component, [host.venv_bin(spec.program)], env, PRIORITIES[spec.tier]))
    return {**_slice_base(res, host, "present"), "programs": programs, "redis": redis, "manifest": manifest}


def _program(res: Resolved, component: str, command: list[str], env: Mapping[str, str], priority: int) -> Json:
    return {
        "name": res.program(component),
        "priority": priority,
        "boundary": res.name,
        "component": component,
        "command": supervisor_quote(shlex.join(command)),
        "environment": supervisor_environment(env),
        "env": dict(env),
        "directory": res.hosts[component].root,
        "log": res.log(component),
    }


def supervisor_quote(value: str) -> str:
    """supervisord expands ``%(name)s`` in values: keep a literal ``%``."""
    return value.replace("%", "%%")


def supervisor_environment(env: Mapping[str, str]) -> str:
    """``KEY="value",...`` as supervisord's ``environment=`` wants it."""
    parts = []
    for key, value in env.items():
        escaped = supervisor_quote(str(value)).replace("\\", "\\\\").replace('"', '\\"')
        parts.append(f'{key}="{escaped}"')
    return ",".join(parts)
