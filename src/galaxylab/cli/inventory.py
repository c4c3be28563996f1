"""An inventory as the playbooks will see it, checked before anything runs.

Read through Ansible's own inventory API (``group_vars``, ``host_vars``, Jinja resolved), then the
``galaxylab_*`` variables are validated by type, so a wrong-typed variable is one line naming it
instead of a failure deep in a play.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from galaxylab.cli.errors import OperatorError, unknown_boundaries
from galaxylab.plan import (
    LAB_GROUP,
    LAB_USER,
    PlanError,
    default_catalog,
    parse_hosts,
    parse_placement,
    select_boundaries,
)
from galaxylab.plan.inputs import parse_boundaries
from galaxylab.plan.layout import resolve

GROUP = "galaxylab"


class HostVars(BaseModel):
    """The ``galaxylab_*`` variables of one lab host (docs/conventions.md "On the controller")."""

    model_config = ConfigDict(strict=True, extra="ignore")

    galaxylab_address: str
    galaxylab_root: str = Field(pattern=r"^/")
    galaxylab_testinfra: str
    galaxylab_owner: str = LAB_USER  # the lab user every program runs as
    galaxylab_group: str = LAB_GROUP
    galaxylab_python: str = "/usr/bin/python3"
    galaxylab_default_host: str
    galaxylab_placement: dict[str, dict[str, str]] = {}
    galaxylab_boundary_names: list[str] | str | None = None
    galaxylab_port_offset: int = 0
    galaxylab_ready_deadline: int | float = 60
    galaxylab_tls: bool = False

    @field_validator("galaxylab_owner", "galaxylab_group")
    @classmethod
    def _not_root(cls, value: str) -> str:
        if value in ("root", "0"):
            raise ValueError("root")  # _expected says why
        return value


@dataclass(frozen=True)
class Inventory:
    path: Path
    hosts: dict[str, HostVars]

    @property
    def first(self) -> HostVars:
        return next(iter(self.hosts.values()))

    def selection(self, names: Sequence[str], known: Sequence[str]) -> list[str]:
        """The boundaries a run covers: those named, else the inventory's ``galaxylab_boundary_names``, else all."""
        unknown = [name for name in names if name not in known]
        if unknown:
            raise unknown_boundaries(unknown, list(known))
        if names:
            return list(dict.fromkeys(names))
        configured = self.first.galaxylab_boundary_names
        if isinstance(configured, str):
            configured = [part for part in configured.replace(",", " ").split() if part]
        return list(configured or known)

    def planned_ports(self, table: Sequence[Mapping[str, Any]], names: Sequence[str]) -> dict[str, dict[int, str]]:
        """``{host: {port: program}}`` every selected boundary will listen on."""
        try:
            catalog = default_catalog()
            selected = select_boundaries(table, list(names), self.first.galaxylab_port_offset)
            boundaries = parse_boundaries(selected, catalog)
            placement = parse_placement(self.first.galaxylab_default_host, self.first.galaxylab_placement)
            hosts = parse_hosts(
                {
                    name: {"address": v.galaxylab_address, "root": v.galaxylab_root, "testinfra": v.galaxylab_testinfra}
                    for name, v in self.hosts.items()
                }
            )
            ports: dict[str, dict[int, str]] = {}
            for boundary in boundaries:
                resolved = resolve(boundary, placement, hosts, catalog)
                for component, host in resolved.hosts.items():
                    for port in resolved.listening_ports(component):
                        ports.setdefault(host.name, {})[port] = resolved.program(component)
        except PlanError as error:
            raise OperatorError("bad_inventory", f"{self.path}: {error}") from None
        return ports


def load(path: Path, extra: Mapping[str, Any] | None = None) -> Inventory:
    """The inventory's lab hosts with their variables (``extra`` as with ``-e``); operator errors on mistakes."""
    # Ansible is imported here, not at module level: the read-only verbs never need it.
    from ansible.inventory.manager import InventoryManager  # type: ignore[import-untyped]
    from ansible.parsing.dataloader import DataLoader  # type: ignore[import-untyped]
    from ansible.template import Templar  # type: ignore[import-untyped]
    from ansible.vars.manager import VariableManager  # type: ignore[import-untyped]

    loader = DataLoader()
    manager = InventoryManager(loader=loader, sources=[str(path)])
    variables = VariableManager(loader=loader, inventory=manager)
    names = [host.name for host in manager.get_hosts(GROUP)] if GROUP in manager.groups else []
    if not names:
        raise OperatorError("bad_inventory", f"{path}: no hosts in the group {GROUP} (the lab's hosts go there)")
    hosts: dict[str, HostVars] = {}
    for host in manager.get_hosts(GROUP):
        values = variables.get_vars(host=host)
        wanted = {key: value for key, value in values.items() if key.startswith("galaxylab_")}
        wanted.update(extra or {})
        try:
            templated = Templar(loader=loader, variables=values).template(wanted)
        except Exception as error:  # noqa: BLE001 - Ansible raises many kinds for a bad template
            raise OperatorError("bad_inventory", f"{path}: host {host.name}: {error}") from None
        hosts[host.name] = validate(path, host.name, plain(templated))
    default = next(iter(hosts.values())).galaxylab_default_host
    if default not in hosts:
        raise OperatorError(
            "bad_inventory",
            f"{path}: galaxylab_default_host {default!r} is not a host of the group {GROUP} ({', '.join(hosts)})",
        )
    return Inventory(path, hosts)


def plain(value: Any) -> Any:
    """Ansible's tagged values as plain JSON types (what a strict model validates)."""
    return json.loads(json.dumps(value, default=str))


def validate(path: Path, host: str, values: Mapping[str, Any]) -> HostVars:
    try:
        return HostVars.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        variable = str(first["loc"][0])
        if first["type"] == "missing":
            message = f"{variable} is not set for host {host}"
        else:
            expected = _expected(variable)
            message = f"{variable} of host {host} must be {expected}, not {first['input']!r}"
        raise OperatorError("bad_inventory_variable", f"{path}: {message}") from None


def _expected(variable: str) -> str:
    if variable in ("galaxylab_owner", "galaxylab_group"):
        return "an unprivileged user or group, not root (every lab program runs as it)"
    annotation = HostVars.model_fields[variable].annotation
    return {
        int: "an integer",
        str: "a string" if variable != "galaxylab_root" else "an absolute path",
        dict[str, dict[str, str]]: "a mapping {boundary: {component: host}}",
        list[str] | str | None: "a list of boundary names",
        int | float: "a number of seconds",
    }.get(annotation, str(annotation))
