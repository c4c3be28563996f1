"""Where things are: which host runs each component, its ports and addresses, and what each
lab host lays out (directories, supervisord, readiness checks) — docs/conventions.md "On a lab host"."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from galaxylab.manifest import Probe
from galaxylab.plan.acl import PROBE
from galaxylab.plan.catalog import REDIS, Catalog
from galaxylab.plan.files import TLS_CA, TLS_CERT, TLS_KEY
from galaxylab.plan.inputs import ADMIN, WRITABLE, Boundary, Host, Placement, PlanError

# Modes of what the lab creates on a host (secrets: see galaxylab.secrets). Directories the lab user must
# not change are ADMIN's with the lab group (it reads them); its own (WRITABLE) are its own.
DIR_MODE = "0750"
ROOT_MODE = "0755"
SECRET_DIR_MODE = "0700"
DATA_DIR_MODE = "0700"

Json = dict[str, Any]


@dataclass(frozen=True)
class Resolved:
    """One boundary with every component's (and Redis's) host resolved."""

    boundary: Boundary
    hosts: Mapping[str, Host]  # component or "redis" -> host
    catalog: Catalog
    # The lab's TLS switch (galaxylab_tls): every main port and Redis over TLS, verified with the lab's CA.
    tls: bool = False

    @property
    def name(self) -> str:
        return self.boundary.name

    def port(self, component: str, *, admin: bool = False) -> int:
        return self.boundary.port(self.catalog, component, admin=admin)

    def endpoint(self, component: str, host: Host | None = None) -> str:
        return f"{(host or self.hosts[component]).address}:{self.port(component)}"

    def redis_url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://{self.endpoint(REDIS)}/0"

    def url(self, component: str, host: Host | None = None) -> str:
        """The base URL of an HTTP main port (``https`` with TLS on)."""
        return f"{'https' if self.tls else 'http'}://{self.endpoint(component, host)}"

    def serves_tls(self, component: str) -> bool:
        """Whether the component's main port speaks TLS: with TLS on, every main port (gRPC, HTTP, the SMTP
        sink's SMTP as implicit TLS)."""
        return self.tls and "main" in self.catalog.spec(component).listens

    def admin_serves_tls(self, component: str) -> bool:
        """Whether the admin port speaks TLS too: with TLS on, where the catalog says so (the SMTP sink's API,
        which carries the lab's token and the mail); every other admin port stays plain."""
        spec = self.catalog.spec(component)
        return self.tls and spec.admin_tls and "admin" in spec.listens

    def admin_url(self, component: str) -> str:
        scheme = "https" if self.admin_serves_tls(component) else "http"
        return f"{scheme}://{self.hosts[component].address}:{self.port(component, admin=True)}"

    def tls_file(self, component: str, name: str) -> str:
        """A TLS file (``tls-ca.pem``, ``tls-cert.pem``, ``tls-key.pem``) in the boundary's secrets on the
        component's (or Redis's) host."""
        return f"{self.hosts[component].secrets_dir(self.name)}/{name}"

    def first_of(self, candidates: tuple[str, ...]) -> str | None:
        return next((c for c in candidates if c in self.boundary.components), None)

    def unique_hosts(self) -> list[Host]:
        """Every host running something of the boundary, Redis's first."""
        return _unique(self.hosts.values())

    def service_hosts(self) -> list[Host]:
        """Hosts that need the boundary's secrets: every host running a component (and Redis's, with TLS on:
        its certificate)."""
        components = (*self.boundary.components, *((REDIS,) if self.tls else ()))
        return _unique(self.hosts[c] for c in components)

    def probe(self, component: str) -> Probe:
        host = self.hosts[component]
        if component == REDIS:
            # The ACL's password-less user that may only PING (galaxylab.plan.acl.PROBE).
            if self.tls:
                url = f"rediss://{PROBE}@{self.endpoint(REDIS)}"
                return Probe(kind="redis", url=url, ca=self.tls_file(REDIS, TLS_CA))
            return Probe(kind="redis", url=f"redis://{PROBE}@{self.endpoint(REDIS)}")
        if self.catalog.spec(component).probe == "smtp":
            if self.serves_tls(component):  # implicit TLS: the banner comes after the handshake
                ca = self.tls_file(component, TLS_CA)
                return Probe(kind="smtp", url=f"smtps://{self.endpoint(component)}", ca=ca)
            return Probe(kind="smtp", url=f"smtp://{self.endpoint(component)}")
        return Probe(kind="http", url=f"http://{host.address}:{self.port(component, admin=True)}/healthz")

    def listening_ports(self, component: str) -> tuple[int, ...]:
        if component == REDIS:
            return (self.port(REDIS),)
        listens = self.catalog.spec(component).listens
        return tuple(self.port(component, admin=side == "admin") for side in ("main", "admin") if side in listens)

    def log(self, component: str) -> str:
        return self.hosts[component].path("log", self.name, f"{component}.log")

    def program(self, component: str) -> str:
        return f"{self.name}-{component}"


def _unique(hosts: Any) -> list[Host]:
    seen: dict[str, Host] = {}
    for host in hosts:
        seen.setdefault(host.name, host)
    return list(seen.values())


def resolve(
    boundary: Boundary, placement: Placement, hosts: Mapping[str, Host], catalog: Catalog, tls: bool = False
) -> Resolved:
    placed: dict[str, Host] = {}
    for component in (REDIS, *boundary.components):
        name = placement.host_of(boundary.name, component)
        if name not in hosts:
            raise PlanError(
                f"boundary {boundary.name}: {component} placed on {name!r}, which is not a lab host "
                f"(lab hosts: {', '.join(hosts)})"
            )
        placed[component] = hosts[name]
    return Resolved(boundary, placed, catalog, tls)


def redis_config(res: Resolved) -> Json:
    """What the redis_instance role renders for the boundary's Redis."""
    host = res.hosts[REDIS]
    durable = res.boundary.redis == "durable"
    return {
        "boundary": res.name,
        "mode": res.boundary.redis,
        "bind": host.address,
        # Protected mode answers only loopback clients; on a host's own address the boundary's services
        # on the other hosts must reach it (every user but the PING-only probe needs its password).
        "protected_mode": "yes" if _is_loopback(host.address) else "no",
        "port": res.port(REDIS),
        "conf": host.path("etc", res.name, "redis.conf"),
        # Ephemeral Redis never writes (no save points, no AOF); its dir is only where it would.
        "dir": host.path("data", res.name) if durable else host.path("etc", res.name),
        "program": res.program(REDIS),
        "log": res.log(REDIS),
        # With TLS on: TLS only (port 0), its host's certificate; clients authenticate with ACL passwords.
        "tls": (
            {
                "cert": res.tls_file(REDIS, TLS_CERT),
                "key": res.tls_file(REDIS, TLS_KEY),
                "ca": res.tls_file(REDIS, TLS_CA),
            }
            if res.tls
            else None
        ),
    }


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "localhost"


def host_plan(host: Host, resolved: list[Resolved]) -> Json:
    """One lab host: its directories, supervisord, readiness checks and which boundaries it serves."""
    present = [r for r in resolved if r.boundary.state == "present"]
    directories = [
        # As the lab_root role has it (root's, 0755): the lab user may not add or replace anything in it.
        {"path": host.root, "mode": ROOT_MODE, "owner": ADMIN, "group": ADMIN},
        *(_admin_dir(host.path(sub), host) for sub in ("releases", "layers", "supervisor", "supervisor/conf.d", "etc")),
        # The lab user's own, all the way down (what a lab run as root before left there is handed over).
        *(_own_dir(host.path(sub), _own_mode(sub), host) | {"recurse": True} for sub in WRITABLE),
    ]
    ready: list[Json] = []
    for res in present:
        directories.append(_own_dir(host.path("log", res.name), DIR_MODE, host))
        if res.hosts[REDIS] == host:
            directories.append(_admin_dir(host.path("etc", res.name), host))
            if res.boundary.redis == "durable":
                directories.append(_own_dir(host.path("data", res.name), DATA_DIR_MODE, host))
        for component in (REDIS, *res.boundary.components):
            if res.hosts[component] == host:
                probe = res.probe(component)
                ready.append({"name": res.program(component), "url": probe.url, "ca": probe.ca})
    return {
        "name": host.name,
        "address": host.address,
        "root": host.root,
        "owner": host.owner,
        "group": host.group,
        "boundaries": [r.name for r in present],
        "secret_boundaries": [r.name for r in present if host in r.service_hosts()],
        "absent_boundaries": [r.name for r in resolved if r.boundary.state == "absent"],
        "directories": directories,
        # Filled by build_plan: supervisord groups (one per boundary), Redis instances, every program,
        # and what absent boundaries leave behind.
        "groups": [],
        "redis": [],
        "programs": [],
        "remove": [],
        "ready_checks": ready,
        "supervisor": {
            "conf": host.supervisor_conf(),
            "conf_dir": host.path("supervisor", "conf.d"),
            "socket": host.path("run", "supervisor.sock"),
            "pidfile": host.path("run", "supervisord.pid"),
            "log": host.path("log", "supervisord.log"),
            "supervisord": [host.venv_bin("supervisord"), "-c", host.supervisor_conf()],
            "supervisorctl": host.supervisorctl(),
            # A graceful stop of every program, services before the doubles before Redis, then supervisord.
            "stop": [host.venv_bin("python"), "-m", "galaxylab.stop", "--configuration", host.supervisor_conf()],
            # supervisord drops to the lab user before anything else; so does each program (user=).
            "user": host.owner,
            "group": host.group,
        },
    }


def _own_mode(sub: str) -> str:
    return SECRET_DIR_MODE if sub == "secrets" else DIR_MODE


def _own_dir(path: str, mode: str, host: Host) -> Json:
    """A directory of the lab user's: its data, logs, runtime files, secrets."""
    return {"path": path, "mode": mode, "owner": host.owner, "group": host.group}


def _admin_dir(path: str, host: Host) -> Json:
    """A directory the lab user reads (through its group) but may not change."""
    return {"path": path, "mode": DIR_MODE, "owner": ADMIN, "group": host.group}
