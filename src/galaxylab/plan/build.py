"""The lab plan: per host (grouped by boundary) and per boundary manifest — what the playbooks hand the roles."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from galaxylab.plan import acl
from galaxylab.plan.catalog import REDIS, Catalog, default_catalog
from galaxylab.plan.files import REDIS_USERS
from galaxylab.plan.inputs import Host, Placement, PlanError, parse_boundaries
from galaxylab.plan.layout import Json, Resolved, host_plan, redis_config, resolve
from galaxylab.plan.manifests import build_manifest
from galaxylab.plan.wiring import RELEASE_ENV, environment

# Joins host and boundary in per-(host, boundary) names (the CLI's progress rows).
SLICE_SEPARATOR = "~"
# supervisord priorities: lower starts first and stops last (Redis, then doubles, then services).
PRIORITIES = {REDIS: 100, "double": 200, "service": 300}


def boundary_hosts(
    boundaries: Sequence[Mapping[str, Any]],
    placement: Placement,
    hosts: Mapping[str, Host],
    catalog: Catalog | None = None,
) -> dict[str, list[str]]:
    """Which present boundaries each host runs something of: ``{host: [boundary]}`` (each gets a secrets bundle
    of them; with TLS on, a host running only a boundary's Redis needs it for its certificate)."""
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
    redis_hashes: Mapping[str, Mapping[str, str]] | None = None,
    release: str = "",
    redis_server: str = "/usr/bin/redis-server",
    catalog: Catalog | None = None,
    tls: bool = False,
) -> Json:
    """Everything the playbooks need: per host (all it runs, grouped by boundary), and per boundary manifests.

    A host's part is all the host needs, so each host is configured with a fixed number of module
    calls whatever the number of boundaries: its ``groups`` (one supervisord group per boundary),
    its ``redis`` instances, the ``remove`` paths of absent boundaries, and its ``directories``.

    ``kids`` (``{boundary: signing kid}``) and ``redis_hashes`` (``{boundary: {Redis user: SHA-256 of its
    password}}``) come from ``galaxylab.secrets``; every present boundary needs both. ``tls`` (the inventory's
    ``galaxylab_tls``): every gRPC and HTTP main port and every Redis over TLS, clients verifying the lab's CA.
    """
    catalog = catalog or default_catalog()
    kids = kids or {}
    redis_hashes = redis_hashes or {}
    resolved = [resolve(b, placement, hosts, catalog, tls) for b in parse_boundaries(boundaries, catalog)]
    plan: Json = {"hosts": {}, "manifests": {}, "absent_manifests": []}
    for host in hosts.values():
        plan["hosts"][host.name] = host_plan(host, [r for r in resolved if host in r.hosts.values()])
    for res in resolved:
        if res.boundary.state == "absent":
            plan["absent_manifests"].append(res.name)
            for host in res.unique_hosts():
                plan["hosts"][host.name]["remove"].extend(_absent_paths(res, host))
            continue
        if res.name not in kids:
            raise PlanError(f"boundary {res.name}: no signing kid (run galaxylab.secrets ensure first)")
        users = acl.rules(res.boundary.components, catalog)
        hashes = redis_hashes.get(res.name, {})
        missing = sorted(set(users) & set(REDIS_USERS) - set(hashes))
        if missing:
            raise PlanError(
                f"boundary {res.name}: no Redis password for {missing} (run galaxylab.secrets ensure first)"
            )
        generated = {"signing_kid": kids[res.name]}
        plan["manifests"][res.name] = build_manifest(res, generated).model_dump(mode="json")
        for host in res.unique_hosts():
            part = plan["hosts"][host.name]
            group = _group(res, host, generated, release, redis_server)
            part["groups"].append(group)
            part["programs"].extend(group["programs"])
            if res.hosts[REDIS] == host:
                part["redis"].append(redis_config(res) | {"users": acl.config_lines(users, hashes)})
    return plan


def _absent_paths(res: Resolved, host: Host) -> list[str]:
    """What an absent boundary leaves on a host: its program file first, then its directories."""
    return [
        host.path("supervisor", "conf.d", f"{res.name}.conf"),
        *(host.path(sub, res.name) for sub in ("etc", "data", "log", "secrets")),
    ]


def _group(res: Resolved, host: Host, generated: dict[str, str], release: str, redis_server: str) -> Json:
    """The boundary's supervisord group on ``host``: its program file and programs in start order."""
    programs: list[Json] = []
    if res.hosts[REDIS] == host:
        conf = host.path("etc", res.name, "redis.conf")
        programs.append(_program(res, REDIS, [redis_server, conf], {}, PRIORITIES[REDIS]))
    for component in res.boundary.components:
        if res.hosts[component] == host:
            spec = res.catalog.spec(component)
            env = {**environment(res, component, generated), **spec.process_environment, RELEASE_ENV: release}
            programs.append(_program(res, component, [host.venv_bin(spec.program)], env, PRIORITIES[spec.tier]))
    return {
        "boundary": res.name,
        "conf": host.path("supervisor", "conf.d", f"{res.name}.conf"),
        "programs": programs,
    }


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
        # The lab user: supervisord already runs as it, and refuses to start a program as anyone else.
        "user": res.hosts[component].owner,
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
