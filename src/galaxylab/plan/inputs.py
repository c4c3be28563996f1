"""The planner's inputs, parsed and validated: boundaries (playbooks/vars/boundaries.yml), lab hosts
and placement (the inventory). Every inconsistency is a ``PlanError`` saying where."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from galaxylab.plan.catalog import ADMIN_OFFSET, PORT_SPAN, REDIS, SETTING_NAME, Catalog

REDIS_MODES = ("ephemeral", "durable")
# The unprivileged system user and group every lab program runs as (the lab_user role creates them).
LAB_USER = "galaxylab"
LAB_GROUP = "galaxylab"
# Owns everything of the lab its programs must not change (the root, releases, configs).
ADMIN = "root"
STATES = ("present", "absent")
_NAME = re.compile(r"^[a-z][a-z0-9]*$")
# What the lab user writes under the root: supervisord's socket and pidfile, logs, Redis data, its secrets.
WRITABLE = ("run", "log", "data", "secrets")


class PlanError(ValueError):
    """The boundary data, placement or hosts are inconsistent; the message says where."""


@dataclass(frozen=True)
class Boundary:
    name: str
    port_base: int
    redis: str
    components: tuple[str, ...]
    settings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    state: str = "present"

    def port(self, catalog: Catalog, component: str, *, admin: bool = False) -> int:
        offset = 0 if component == REDIS else catalog.spec(component).port_offset
        return self.port_base + offset + (ADMIN_OFFSET if admin else 0)


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    root: str
    testinfra: str
    owner: str = LAB_USER  # the lab user: runs every program, owns what they write (writable_dirs)
    group: str = LAB_GROUP

    def path(self, *parts: str) -> str:
        return "/".join((self.root.rstrip("/"), *parts))

    def secrets_dir(self, boundary: str) -> str:
        return self.path("secrets", boundary)

    def supervisor_conf(self) -> str:
        return self.path("supervisor", "supervisord.conf")

    def venv_bin(self, program: str) -> str:
        return self.path("current", "venv", "bin", program)

    def supervisorctl(self) -> list[str]:
        return [self.venv_bin("supervisorctl"), "-c", self.supervisor_conf()]

    def writable_dirs(self) -> tuple[str, ...]:
        """The only directories under the root the lab user owns and may write; everything else is ``ADMIN``'s."""
        return tuple(self.path(sub) for sub in WRITABLE)


@dataclass(frozen=True)
class Placement:
    """Which inventory host runs a component: per-boundary override, else the default host."""

    default_host: str
    overrides: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def host_of(self, boundary: str, component: str) -> str:
        per_boundary = self.overrides.get(boundary, {})
        return per_boundary.get(component, per_boundary.get("default", self.default_host))


def parse_boundaries(data: Sequence[Mapping[str, Any]], catalog: Catalog) -> list[Boundary]:
    """The ``galaxylab_boundaries`` list, validated against the component catalog."""
    if not isinstance(data, Sequence) or isinstance(data, (str, bytes)):
        raise PlanError("galaxylab_boundaries must be a list of boundaries")
    boundaries = [_parse_boundary(item, catalog) for item in data]
    _check_unique((b.name for b in boundaries), "boundary name")
    _check_port_ranges([b for b in boundaries if b.state == "present"])
    return boundaries


def _parse_boundary(item: Mapping[str, Any], catalog: Catalog) -> Boundary:
    if not isinstance(item, Mapping):
        raise PlanError(f"a boundary must be a mapping with name, port_base, redis and components, not {item!r}")
    name = item.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise PlanError(f"boundary name {name!r} must be lowercase letters and digits")
    port_base = item.get("port_base")
    if not isinstance(port_base, int) or isinstance(port_base, bool) or not 1024 <= port_base <= 65535 - PORT_SPAN:
        raise PlanError(f"boundary {name}: port_base {port_base!r} must be an integer in 1024..{65535 - PORT_SPAN}")
    redis = item.get("redis")
    if redis not in REDIS_MODES:
        raise PlanError(f"boundary {name}: redis must be one of {REDIS_MODES}, not {redis!r}")
    state = item.get("state", "present")
    if state not in STATES:
        raise PlanError(f"boundary {name}: state must be one of {STATES}, not {state!r}")
    raw_components = item.get("components") or ()
    if isinstance(raw_components, (str, bytes)) or not isinstance(raw_components, Sequence):
        raise PlanError(f"boundary {name}: components must be a list of component kinds")
    components = tuple(str(c) for c in raw_components)
    for component in components:
        if component not in catalog.components:
            known = ", ".join(catalog.components)
            raise PlanError(f"boundary {name}: unknown component {component!r} (known: {known})")
    _check_unique(components, f"boundary {name}: component")
    settings = _parse_settings(name, components, item.get("settings"))
    return Boundary(name, port_base, str(redis), components, settings, str(state))


def _parse_settings(name: str, components: tuple[str, ...], data: Any) -> dict[str, dict[str, str]]:
    if data is not None and not isinstance(data, Mapping):
        raise PlanError(f"boundary {name}: settings must be a mapping {{component: {{SETTING: value}}}}")
    settings: dict[str, dict[str, str]] = {}
    for component, values in (data or {}).items():
        if component not in components:
            raise PlanError(f"boundary {name}: settings for {component!r}, which is not in its components")
        if not isinstance(values, Mapping):
            raise PlanError(f"boundary {name}: settings of {component} must be a mapping {{SETTING: value}}")
        for key in values:
            if not re.match(SETTING_NAME, str(key)):
                raise PlanError(f"boundary {name}: setting {key!r} of {component} must be UPPER_CASE without prefix")
        settings[component] = {str(k): str(v) for k, v in values.items()}
    return settings


def _check_unique(names: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise PlanError(f"duplicate {what} {name!r}")
        seen.add(name)


def _check_port_ranges(boundaries: list[Boundary]) -> None:
    ordered = sorted(boundaries, key=lambda b: b.port_base)
    for low, high in itertools.pairwise(ordered):
        if high.port_base < low.port_base + PORT_SPAN:
            raise PlanError(
                f"boundaries {low.name} and {high.name}: port ranges overlap "
                f"(port_base {low.port_base} and {high.port_base}, each needs {PORT_SPAN} ports)"
            )


def select_boundaries(
    data: Sequence[Mapping[str, Any]], names: Sequence[str] | str | None = None, port_offset: int = 0
) -> list[dict[str, Any]]:
    """The boundaries an inventory runs: those named (all when ``names`` is empty), ports moved by ``port_offset``.

    Lets an inventory run a subset of the one boundary table (``galaxylab_boundary_names``) on ports
    that do not collide with another lab on the same machine (``galaxylab_port_offset``). One name
    may be given as a plain string; a comma- or space-separated string names several.
    """
    if isinstance(port_offset, bool) or not isinstance(port_offset, int):
        raise PlanError(f"port offset {port_offset!r} must be an integer")
    wanted = _names(names)
    known = [str(item.get("name")) for item in data]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise PlanError(f"unknown boundaries {', '.join(unknown)} selected (known: {', '.join(known)})")
    selected = [dict(item) for item in data if not wanted or item.get("name") in wanted]
    for item in selected:
        if port_offset and isinstance(item.get("port_base"), int):
            item["port_base"] += port_offset
    return selected


def _names(names: Sequence[str] | str | None) -> list[str]:
    if names is None:
        return []
    if isinstance(names, str):
        return [part for part in re.split(r"[,\s]+", names) if part]
    if not isinstance(names, Sequence) or not all(isinstance(name, str) for name in names):
        raise PlanError(f"boundary names {names!r} must be a list of names")
    return list(names)


def parse_hosts(data: Mapping[str, Mapping[str, Any]]) -> dict[str, Host]:
    """Inventory hosts of the lab: ``{name: {address, root, testinfra[, owner, group]}}``.

    ``owner``/``group`` name the lab user (default ``galaxylab``); never root, which would run every program as root.
    """
    hosts: dict[str, Host] = {}
    for name, values in data.items():
        missing = [key for key in ("address", "root", "testinfra") if not values.get(key)]
        if missing:
            raise PlanError(f"host {name}: missing {', '.join(missing)} (galaxylab_* inventory vars)")
        if not str(values["root"]).startswith("/"):
            raise PlanError(f"host {name}: root {values['root']!r} must be an absolute path")
        owner, group = str(values.get("owner") or LAB_USER), str(values.get("group") or LAB_GROUP)
        if ADMIN in (owner, group) or "0" in (owner, group):
            raise PlanError(
                f"host {name}: owner {owner!r}, group {group!r}: the lab user (galaxylab_owner, galaxylab_group) "
                "must not be root, every lab program runs as it"
            )
        hosts[name] = Host(
            name=name,
            address=str(values["address"]),
            root=str(values["root"]).rstrip("/") or "/",
            testinfra=str(values["testinfra"]),
            owner=owner,
            group=group,
        )
    if not hosts:
        raise PlanError("no lab hosts: the inventory group galaxylab is empty")
    return hosts


def parse_placement(default_host: str, overrides: Mapping[str, Mapping[str, str]] | None) -> Placement:
    if overrides is not None and not isinstance(overrides, Mapping):
        raise PlanError("galaxylab_placement must be a mapping {boundary: {component: host}}")
    return Placement(default_host, {b: dict(v) for b, v in (overrides or {}).items()})
