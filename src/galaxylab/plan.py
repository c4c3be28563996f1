"""The lab plan: boundaries + placement + hosts in, what every host runs out.

Pure data in, pure data out (JSON-able dicts), so Ansible can use it through a
filter plugin and tests can check it in-process. ``docs/conventions.md`` is the
interface this module implements: program names, environment variables, port
offsets, the layout under ``galaxylab_root`` and the manifest shape.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

REDIS = "redis"
REDIS_MODES = ("ephemeral", "durable")
STATES = ("present", "absent")
CALLERS = ("gateway", "authsession", "notification", "lab")
TOKEN_AUDIENCE = "galaxy-gateway"
# Lab values of the services' tunables (docs/conventions.md), set explicitly so the manifest shows them;
# a boundary's ``settings`` overrides them.
LAB_SETTINGS: dict[str, dict[str, str]] = {
    "authsession": {
        "SESSION_TTL_SECONDS": "3600",
        "CHALLENGE_TTL_SECONDS": "600",
        "CHALLENGE_MAX_ATTEMPTS": "5",
        "DOWNSTREAM_TIMEOUT_SECONDS": "2",
    },
    "gateway": {"DOWNSTREAM_TIMEOUT_SECONDS": "2"},
}
RELEASE_ENV = "GALAXYLAB_RELEASE"
SLICE_SEPARATOR = "~"

# Secret files of a boundary, relative to its secrets dir (galaxylab.secrets writes them).
SERVICE_TOKENS = "service-tokens.json"
SIGNING_KEY = "signing-key.pem"
TOKEN_KEYS = "token-keys.json"
SIGNING_KID = "signing-kid"
OPERATOR_TOKEN = "operator.token"
SECRET_FILES = (
    SERVICE_TOKENS,
    *(f"{caller}.token" for caller in CALLERS),
    SIGNING_KEY,
    TOKEN_KEYS,
    SIGNING_KID,
    OPERATOR_TOKEN,
)

# supervisord priorities: lower starts first and stops last (Redis, then doubles, then services).
PRIORITY_REDIS = 100
PRIORITY_DOUBLE = 200
PRIORITY_SERVICE = 300

# Modes of what the lab creates on a host (secrets: see galaxylab.secrets).
DIR_MODE = "0750"
ROOT_MODE = "0755"
SECRET_DIR_MODE = "0700"
DATA_DIR_MODE = "0700"

Json = dict[str, Any]


class PlanError(ValueError):
    """The boundary data, placement or hosts are inconsistent; the message says where."""


@dataclass(frozen=True)
class ComponentSpec:
    """A kind of component: which program runs it and where it sits in a boundary."""

    program: str
    prefix: str
    offset: int
    protocol: Literal["grpc", "http"]
    uses_redis: bool
    stub_kind: str | None = None


# One entry per component kind. A boundary may only name components listed here.
CATALOG: dict[str, ComponentSpec] = {
    "gateway": ComponentSpec("galaxy-gateway", "GALAXY_GATEWAY_", 10, "grpc", uses_redis=True),
    "authsession": ComponentSpec("galaxy-authsession", "GALAXY_AUTHSESSION_", 20, "http", uses_redis=True),
    "user": ComponentSpec("galaxy-user", "GALAXY_USER_", 30, "http", uses_redis=True),
    "user-stub": ComponentSpec("galaxylab-stub", "GALAXYLAB_STUB_", 60, "http", uses_redis=False, stub_kind="user"),
    "mail-stub": ComponentSpec("galaxylab-stub", "GALAXYLAB_STUB_", 70, "http", uses_redis=False, stub_kind="mail"),
}
ADMIN_OFFSET = 1
# Highest offset any component may use (smtp-sink API = 81), so port ranges of two boundaries never overlap.
PORT_SPAN = 82
_SETTING_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_NAME = re.compile(r"^[a-z][a-z0-9]*$")


@dataclass(frozen=True)
class Boundary:
    name: str
    port_base: int
    redis: str
    components: tuple[str, ...]
    settings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    state: str = "present"

    def port(self, component: str, *, admin: bool = False) -> int:
        offset = 0 if component == REDIS else CATALOG[component].offset
        return self.port_base + offset + (ADMIN_OFFSET if admin else 0)


@dataclass(frozen=True)
class Host:
    name: str
    address: str
    root: str
    testinfra: str
    owner: str = "root"
    group: str = "root"

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


@dataclass(frozen=True)
class Placement:
    """Which inventory host runs a component: per-boundary override, else the default host."""

    default_host: str
    overrides: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def host_of(self, boundary: str, component: str) -> str:
        per_boundary = self.overrides.get(boundary, {})
        return per_boundary.get(component, per_boundary.get("default", self.default_host))


# ---------------------------------------------------------------------------
# parsing and validation


def parse_boundaries(data: Sequence[Mapping[str, Any]]) -> list[Boundary]:
    """The ``galaxylab_boundaries`` list, validated."""
    if not isinstance(data, Sequence) or isinstance(data, (str, bytes)):
        raise PlanError("galaxylab_boundaries must be a list of boundaries")
    boundaries = [_parse_boundary(item) for item in data]
    _check_unique((b.name for b in boundaries), "boundary name")
    _check_port_ranges([b for b in boundaries if b.state == "present"])
    return boundaries


def _parse_boundary(item: Mapping[str, Any]) -> Boundary:
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
    components = tuple(item.get("components") or ())
    for component in components:
        if component not in CATALOG:
            raise PlanError(f"boundary {name}: unknown component {component!r} (known: {', '.join(CATALOG)})")
    _check_unique(components, f"boundary {name}: component")
    return Boundary(name, port_base, redis, components, _parse_settings(name, components, item.get("settings")), state)


def _parse_settings(name: str, components: tuple[str, ...], data: Any) -> dict[str, dict[str, str]]:
    settings: dict[str, dict[str, str]] = {}
    for component, values in (data or {}).items():
        if component not in components:
            raise PlanError(f"boundary {name}: settings for {component!r}, which is not in its components")
        for key in values:
            if not _SETTING_NAME.match(str(key)):
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
    data: Sequence[Mapping[str, Any]], names: Sequence[str] | None = None, port_offset: int = 0
) -> list[Json]:
    """The boundaries an inventory runs: those named (all when ``names`` is empty), ports moved by ``port_offset``.

    Lets an inventory run a subset of the one boundary table (``galaxylab_boundary_names``) on ports
    that do not collide with another lab on the same machine (``galaxylab_port_offset``).
    """
    if isinstance(port_offset, bool) or not isinstance(port_offset, int):
        raise PlanError(f"port offset {port_offset!r} must be an integer")
    known = [str(item.get("name")) for item in data]
    wanted = list(names or ())
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise PlanError(f"unknown boundaries {', '.join(unknown)} selected (known: {', '.join(known)})")
    selected = [dict(item) for item in data if not wanted or item.get("name") in wanted]
    for item in selected:
        if port_offset and isinstance(item.get("port_base"), int):
            item["port_base"] += port_offset
    return selected


def parse_hosts(data: Mapping[str, Mapping[str, Any]]) -> dict[str, Host]:
    """Inventory hosts of the lab: ``{name: {address, root, testinfra[, owner, group]}}``."""
    hosts: dict[str, Host] = {}
    for name, values in data.items():
        missing = [key for key in ("address", "root", "testinfra") if not values.get(key)]
        if missing:
            raise PlanError(f"host {name}: missing {', '.join(missing)} (galaxylab_* inventory vars)")
        if not str(values["root"]).startswith("/"):
            raise PlanError(f"host {name}: root {values['root']!r} must be an absolute path")
        hosts[name] = Host(
            name=name,
            address=str(values["address"]),
            root=str(values["root"]).rstrip("/") or "/",
            testinfra=str(values["testinfra"]),
            owner=str(values.get("owner") or "root"),
            group=str(values.get("group") or "root"),
        )
    if not hosts:
        raise PlanError("no lab hosts: the inventory group galaxylab is empty")
    return hosts


def parse_placement(default_host: str, overrides: Mapping[str, Mapping[str, str]] | None) -> Placement:
    return Placement(default_host, {b: dict(v) for b, v in (overrides or {}).items()})


# ---------------------------------------------------------------------------
# the plan


@dataclass
class _Resolved:
    """One boundary with every component's host resolved."""

    boundary: Boundary
    hosts: dict[str, Host]  # component (and "redis") -> host

    def address(self, component: str) -> str:
        return self.hosts[component].address

    def http_url(self, component: str) -> str:
        return f"http://{self.address(component)}:{self.boundary.port(component)}"

    def redis_url(self) -> str:
        return f"redis://{self.address(REDIS)}:{self.boundary.port_base}/0"

    def first_of(self, *candidates: str) -> str | None:
        return next((c for c in candidates if c in self.boundary.components), None)


def boundary_hosts(
    boundaries: Sequence[Mapping[str, Any]],
    placement: Placement,
    hosts: Mapping[str, Host],
) -> dict[str, list[str]]:
    """Which present boundaries each host runs something of: ``{host: [boundary]}``."""
    result: dict[str, list[str]] = {name: [] for name in hosts}
    for boundary in parse_boundaries(boundaries):
        if boundary.state != "present":
            continue
        for host in _resolve(boundary, placement, hosts).hosts.values():
            if boundary.name not in result[host.name]:
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
) -> Json:
    """Everything the playbooks need: per host, per (host, boundary) slice, and per boundary manifests."""
    parsed = parse_boundaries(boundaries)
    kids = kids or {}
    plan: Json = {"hosts": {}, "slices": [], "manifests": {}, "absent_manifests": []}
    resolved = [_resolve(b, placement, hosts) for b in parsed]
    for host in hosts.values():
        plan["hosts"][host.name] = _host_plan(host, [r for r in resolved if host in r.hosts.values()])
    for res in resolved:
        if res.boundary.state == "absent":
            plan["absent_manifests"].append(res.boundary.name)
            plan["slices"].extend(_absent_slice(res.boundary, host) for host in _unique_hosts(res))
            continue
        if res.boundary.name not in kids:
            raise PlanError(f"boundary {res.boundary.name}: no signing kid (run galaxylab.secrets ensure first)")
        manifest = _manifest(res, kids[res.boundary.name])
        plan["manifests"][res.boundary.name] = manifest
        for index, host in enumerate(_unique_hosts(res)):
            plan["slices"].append(
                _slice(res, host, kids[res.boundary.name], release, redis_server, manifest if index == 0 else None)
            )
    for host_plan in plan["hosts"].values():
        host_plan["programs"] = [
            program
            for slice_ in plan["slices"]
            if slice_["host"] == host_plan["name"] and slice_["state"] == "present"
            for program in slice_["programs"]
        ]
    return plan


def _resolve(boundary: Boundary, placement: Placement, hosts: Mapping[str, Host]) -> _Resolved:
    placed: dict[str, Host] = {}
    for component in (REDIS, *boundary.components):
        name = placement.host_of(boundary.name, component)
        if name not in hosts:
            raise PlanError(
                f"boundary {boundary.name}: {component} placed on {name!r}, which is not a lab host "
                f"(lab hosts: {', '.join(hosts)})"
            )
        placed[component] = hosts[name]
    return _Resolved(boundary, placed)


def _unique_hosts(res: _Resolved) -> list[Host]:
    seen: dict[str, Host] = {}
    for host in res.hosts.values():
        seen.setdefault(host.name, host)
    return list(seen.values())


def _service_hosts(res: _Resolved) -> list[Host]:
    """Hosts that need the boundary's secrets: every host running a service or stub."""
    seen: dict[str, Host] = {}
    for component in res.boundary.components:
        seen.setdefault(res.hosts[component].name, res.hosts[component])
    return list(seen.values())


def _host_plan(host: Host, resolved: list[_Resolved]) -> Json:
    present = [r for r in resolved if r.boundary.state == "present"]
    directories = [
        _dir(host.root, ROOT_MODE, host),
        *(_dir(host.path(sub), DIR_MODE, host) for sub in ("releases", "supervisor", "supervisor/conf.d", "run")),
        *(_dir(host.path(sub), DIR_MODE, host) for sub in ("etc", "log", "data")),
        _dir(host.path("secrets"), SECRET_DIR_MODE, host),
    ]
    ready: list[Json] = []
    for res in present:
        name = res.boundary.name
        directories.append(_dir(host.path("log", name), DIR_MODE, host))
        if res.hosts[REDIS] == host:
            directories.append(_dir(host.path("etc", name), DIR_MODE, host))
            if res.boundary.redis == "durable":
                directories.append(_dir(host.path("data", name), DATA_DIR_MODE, host))
            ready.append({"name": f"{name}-redis", "url": f"redis://{host.address}:{res.boundary.port_base}"})
        for component in res.boundary.components:
            if res.hosts[component] == host:
                admin = f"http://{host.address}:{res.boundary.port(component, admin=True)}/healthz"
                ready.append({"name": f"{name}-{component}", "url": admin})
    return {
        "name": host.name,
        "address": host.address,
        "root": host.root,
        "owner": host.owner,
        "group": host.group,
        "boundaries": [r.boundary.name for r in present],
        "secret_boundaries": [r.boundary.name for r in present if host in _service_hosts(r)],
        "absent_boundaries": [r.boundary.name for r in resolved if r.boundary.state == "absent"],
        "directories": directories,
        "programs": [],
        "ready_checks": ready,
        "supervisor": {
            "conf": host.supervisor_conf(),
            "conf_dir": host.path("supervisor", "conf.d"),
            "socket": host.path("run", "supervisor.sock"),
            "pidfile": host.path("run", "supervisord.pid"),
            "log": host.path("log", "supervisord.log"),
            "supervisord": [host.venv_bin("supervisord"), "-c", host.supervisor_conf()],
            "supervisorctl": host.supervisorctl(),
        },
    }


def _dir(path: str, mode: str, host: Host) -> Json:
    return {"path": path, "mode": mode, "owner": host.owner, "group": host.group}


def _absent_slice(boundary: Boundary, host: Host) -> Json:
    return {
        "name": f"{host.name}{SLICE_SEPARATOR}{boundary.name}",
        "host": host.name,
        "boundary": boundary.name,
        "state": "absent",
        "root": host.root,
        "owner": host.owner,
        "group": host.group,
        "program_conf": host.path("supervisor", "conf.d", f"{boundary.name}.conf"),
        "supervisorctl": host.supervisorctl(),
        # What the boundary leaves on the host once its programs are gone.
        "paths": [host.path(sub, boundary.name) for sub in ("log", "secrets")],
        "programs": [],
        "redis": {"paths": [host.path(sub, boundary.name) for sub in ("etc", "data")]},
        "manifest": None,
    }


def _slice(res: _Resolved, host: Host, kid: str, release: str, redis_server: str, manifest: Json | None) -> Json:
    name = res.boundary.name
    programs: list[Json] = []
    redis: Json | None = None
    if res.hosts[REDIS] == host:
        redis = _redis(res, host)
        programs.append(_program(name, REDIS, [redis_server, redis["conf"]], {}, host, PRIORITY_REDIS))
    for component in res.boundary.components:
        if res.hosts[component] == host:
            command = [host.venv_bin(CATALOG[component].program)]
            env = {**_environment(res, component, host, kid), RELEASE_ENV: release}
            priority = PRIORITY_DOUBLE if CATALOG[component].stub_kind else PRIORITY_SERVICE
            programs.append(_program(name, component, command, env, host, priority))
    return {
        "name": f"{host.name}{SLICE_SEPARATOR}{name}",
        "host": host.name,
        "boundary": name,
        "state": "present",
        "root": host.root,
        "owner": host.owner,
        "group": host.group,
        "program_conf": host.path("supervisor", "conf.d", f"{name}.conf"),
        "supervisorctl": host.supervisorctl(),
        "programs": programs,
        "redis": redis,
        "manifest": manifest,
    }


def _redis(res: _Resolved, host: Host) -> Json:
    name = res.boundary.name
    durable = res.boundary.redis == "durable"
    return {
        "boundary": name,
        "mode": res.boundary.redis,
        "bind": host.address,
        # Protected mode answers only loopback clients; on a host's own address the boundary's services
        # on the other hosts must reach it (the services take no Redis password: no secret in a URL).
        "protected_mode": "yes" if _is_loopback(host.address) else "no",
        "port": res.boundary.port_base,
        "conf": host.path("etc", name, "redis.conf"),
        # Ephemeral Redis never writes (no save points, no AOF); its dir is only where it would.
        "dir": host.path("data", name) if durable else host.path("etc", name),
        "program": f"{name}-{REDIS}",
        "log": host.path("log", name, f"{REDIS}.log"),
    }


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def _program(
    boundary: str, component: str, command: list[str], env: Mapping[str, str], host: Host, priority: int
) -> Json:
    return {
        "name": f"{boundary}-{component}",
        "priority": priority,
        "boundary": boundary,
        "component": component,
        "command": supervisor_quote(shlex.join(command)),
        "environment": supervisor_environment(env),
        "env": dict(env),
        "directory": host.root,
        "log": host.path("log", boundary, f"{component}.log"),
    }


def _environment(res: _Resolved, component: str, host: Host, kid: str) -> dict[str, str]:
    spec = CATALOG[component]
    boundary = res.boundary
    secrets = host.secrets_dir(boundary.name)
    env: dict[str, str] = {
        "LISTEN_HOST": host.address,
        "PORT": str(boundary.port(component)),
        "ADMIN_PORT": str(boundary.port(component, admin=True)),
    }
    if spec.uses_redis:
        env |= {"REDIS_URL": res.redis_url(), "LOG_LEVEL": "INFO"}
    if spec.stub_kind:
        env |= {"KIND": spec.stub_kind, "SERVICE_TOKENS_FILE": f"{secrets}/{SERVICE_TOKENS}"}
    elif component == "user":
        env |= {"SERVICE_TOKENS_FILE": f"{secrets}/{SERVICE_TOKENS}"}
    elif component == "authsession":
        own_token = f"{secrets}/authsession.token"
        env |= {
            "SERVICE_TOKENS_FILE": f"{secrets}/{SERVICE_TOKENS}",
            "USER_URL": _required_url(res, component, "user", "user-stub"),
            "USER_TOKEN_FILE": own_token,
            "MAIL_URL": _required_url(res, component, "mail", "mail-stub"),
            "MAIL_TOKEN_FILE": own_token,
            "SIGNING_KEY_FILE": f"{secrets}/{SIGNING_KEY}",
            "SIGNING_KID": kid,
            "TOKEN_AUDIENCE": TOKEN_AUDIENCE,
        }
    elif component == "gateway":
        own_token = f"{secrets}/gateway.token"
        env |= {
            "AUTHSESSION_URL": _authsession_url(res, host),
            "AUTHSESSION_TOKEN_FILE": own_token,
            "USER_URL": _required_url(res, component, "user", "user-stub"),
            "USER_TOKEN_FILE": own_token,
            "TOKEN_KEYS_FILE": f"{secrets}/{TOKEN_KEYS}",
            "TOKEN_AUDIENCE": TOKEN_AUDIENCE,
        }
    env |= LAB_SETTINGS.get(component, {})
    env |= boundary.settings.get(component, {})
    return {f"{spec.prefix}{key}": value for key, value in env.items()}


def _required_url(res: _Resolved, consumer: str, real: str, stub: str) -> str:
    target = res.first_of(real, stub)
    if target is None:
        raise PlanError(f"boundary {res.boundary.name}: {consumer} needs {real} or {stub} in its components")
    return res.http_url(target)


def _authsession_url(res: _Resolved, host: Host) -> str:
    # Without authsession in the boundary (gatewayuser) the gateway still gets a URL: authsession's
    # port on the gateway's own host, where nothing listens, so login calls fail as UNAVAILABLE.
    if "authsession" in res.boundary.components:
        return res.http_url("authsession")
    return f"http://{host.address}:{res.boundary.port('authsession')}"


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


# ---------------------------------------------------------------------------
# manifest (docs/conventions.md "Manifest")


def _manifest(res: _Resolved, kid: str) -> Json:
    boundary = res.boundary
    name = boundary.name
    redis_host = res.hosts[REDIS]
    components: Json = {}
    for component in boundary.components:
        host = res.hosts[component]
        spec = CATALOG[component]
        env = _environment(res, component, host, kid)
        entry: Json = {
            "kind": component,
            "host": host.name,
            "address": host.address,
            "program": f"{name}-{component}",
            "port": boundary.port(component),
        }
        address = f"{host.address}:{boundary.port(component)}"
        entry["endpoint" if spec.protocol == "grpc" else "url"] = (
            address if spec.protocol == "grpc" else f"http://{address}"
        )
        entry["admin_url"] = f"http://{host.address}:{boundary.port(component, admin=True)}"
        entry["log"] = host.path("log", name, f"{component}.log")
        # Effective settings without the prefix; never a secret (secrets are only ever *_FILE paths).
        entry["settings"] = {key.removeprefix(spec.prefix): value for key, value in sorted(env.items())}
        components[component] = entry
    secret_hosts = _service_hosts(res) or [redis_host]
    secrets_host = secret_hosts[0]
    secrets_dir = secrets_host.secrets_dir(name)
    redis = _redis(res, redis_host)
    return {
        "boundary": name,
        "port_base": boundary.port_base,
        "redis": {
            "url": res.redis_url(),
            "mode": boundary.redis,
            "host": redis_host.name,
            "address": redis_host.address,
            "port": boundary.port_base,
            "program": redis["program"],
            "conf": redis["conf"],
            "dir": redis["dir"],
            "log": redis["log"],
        },
        "components": components,
        "hosts": {
            host.name: {
                "testinfra": host.testinfra,
                "supervisorctl": shlex.join(host.supervisorctl()),
                "root": host.root,
                "supervisor_conf": host.supervisor_conf(),
                "program_conf": host.path("supervisor", "conf.d", f"{name}.conf"),
                "owner": host.owner,
                "group": host.group,
            }
            for host in _unique_hosts(res)
        },
        "secrets": {
            "dir": secrets_dir,
            "host": secrets_host.name,
            "hosts": [host.name for host in secret_hosts],
            "service_tokens": f"{secrets_dir}/{SERVICE_TOKENS}",
            "signing_key": f"{secrets_dir}/{SIGNING_KEY}",
            "token_keys": f"{secrets_dir}/{TOKEN_KEYS}",
            "signing_kid": kid,
            "operator_token": f"{secrets_dir}/{OPERATOR_TOKEN}",
            "caller_tokens": {caller: f"{secrets_dir}/{caller}.token" for caller in CALLERS},
            "files": [f"{secrets_dir}/{file}" for file in SECRET_FILES],
        },
    }
