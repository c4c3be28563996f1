"""The manifest: one JSON document per boundary, everything a test or tool may know about it.

The planner (``galaxylab.plan``) builds it, Ansible writes it to
``<state dir>/manifests/<boundary>.json``, and every reader (the test harness, the state
checks, the multi-host test, the benchmarks) validates it against this one model. Readers
never guess a port, a path or a program name. ``docs/manifest.schema.json`` is generated
from this model (``python -m galaxylab.manifest --schema``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

STATE_DIR_ENV = "GALAXYLAB_STATE_DIR"
SCHEMA_VERSION: Literal[4] = 4


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Probe(_Model):
    """How readiness is checked: ``http`` GET answered 200, ``redis`` PING, ``smtp`` 220 banner."""

    kind: Literal["http", "redis", "smtp"]
    url: str = Field(
        description="http://host:port/healthz, redis://probe@host:port (rediss:// with TLS on) or smtp://host:port "
        "(smtps:// with TLS on)"
    )
    ca: str | None = Field(default=None, description="a TLS probe's CA file on the component's host, else null")


class Program(_Model):
    """One supervisord program of a boundary: Redis or a component."""

    boundary: str
    component: str = Field(description="'redis' or a component name")
    name: str
    host: str
    address: str
    ports: tuple[int, ...]
    probe: Probe
    log: str


class RedisInstance(_Model):
    url: str
    mode: Literal["ephemeral", "durable"]
    host: str
    address: str
    port: int
    program: str
    conf: str
    dir: str = Field(description="working dir: the AOF directory of a durable Redis")
    log: str
    probe: Probe
    tls: bool = Field(default=False, description="TLS only (url rediss://), verified with secrets.tls_ca")
    users: dict[str, str] = Field(
        description="the ACL: {user: rules} without passwords (each user's password file is in secrets.redis_users)"
    )


class Component(_Model):
    kind: str = Field(description="the component's catalog kind (gateway, user-stub, smtp-sink, ...)")
    host: str
    address: str
    program: str
    protocol: Literal["grpc", "http", "smtp"]
    port: int = Field(description="main port (gRPC, HTTP or SMTP)")
    admin_port: int = Field(description="admin HTTP port: /healthz, /metrics (the SMTP sink's API)")
    ports: tuple[int, ...] = Field(description="the ports the program listens on")
    endpoint: str = Field(description="host:port of the main port")
    url: str | None = Field(description="http(s)://host:port of an HTTP main port, else null")
    tls: bool = Field(
        default=False,
        description="the main port speaks TLS (the SMTP sink's: implicit TLS, its API too), verified with "
        "secrets.tls_ca",
    )
    admin_url: str = Field(description="http://host:admin_port (https:// for the SMTP sink's API with TLS on)")
    log: str
    probe: Probe
    env_prefix: str = Field(description="prefix of the program's environment variables (GALAXY_USER_, ...)")
    settings: dict[str, str] = Field(
        description="effective environment without the prefix; never a secret (secrets are *_FILE paths)"
    )

    @property
    def healthz(self) -> str:
        return f"{self.admin_url.rstrip('/')}/healthz"


class Host(_Model):
    testinfra: str = Field(description="testinfra backend URL of the host (local://, ssh://...)")
    supervisorctl: str = Field(description="shell command of the host's supervisorctl")
    root: str
    supervisor_conf: str
    program_conf: str
    owner: str = Field(description="the lab user: supervisord and every program run as it (never root)")
    group: str = Field(description="the lab user's group: may read the lab's configs and releases, not change them")
    writable: tuple[str, ...] = Field(
        description="the directories the lab user owns and writes (runtime files, logs, data, secrets); nothing "
        "else under root is writable by it"
    )


class Secrets(_Model):
    dir: str
    host: str = Field(description="first host holding the secrets")
    hosts: tuple[str, ...]
    service_tokens: str
    signing_key: str
    token_keys: str
    signing_kid: str = Field(description="the key id itself, not a path")
    operator_token: str
    caller_tokens: dict[str, str]
    redis_users: dict[str, str] = Field(description="{Redis ACL user: its password file} (harness, admin, services)")
    tls_ca: str | None = Field(default=None, description="the lab's CA certificate (TLS on), else null")
    files: tuple[str, ...] = Field(description="every secret file (what the no-leak checks grep for)")


class Manifest(_Model):
    schema_version: Literal[4] = SCHEMA_VERSION
    boundary: str
    port_base: int
    redis: RedisInstance
    components: dict[str, Component]
    hosts: dict[str, Host]
    secrets: Secrets

    def component(self, name: str) -> Component:
        try:
            return self.components[name]
        except KeyError:
            known = ", ".join(sorted(self.components)) or "none"
            raise KeyError(f"boundary {self.boundary} has no component {name!r} (it has: {known})") from None

    def of_kind(self, kind: str) -> list[Component]:
        return [c for c in self.components.values() if c.kind == kind]

    def endpoint(self, name: str) -> str:
        """``host:port`` of a component's main port (gRPC, HTTP or SMTP)."""
        return self.component(name).endpoint

    def url(self, name: str) -> str:
        """HTTP base URL of a component."""
        value = self.component(name).url
        if not value:
            raise KeyError(f"{self.boundary}: component {name!r} has no HTTP url in the manifest")
        return value

    def host(self, name: str) -> Host:
        try:
            return self.hosts[name]
        except KeyError:
            raise KeyError(f"{self.boundary}: host {name!r} is not in the manifest's hosts") from None

    def setting(self, component: str, name: str, default: str | None = None) -> str | None:
        return self.component(component).settings.get(name, default)

    def programs(self) -> list[Program]:
        """Redis and every component, as supervisord programs with their ports and readiness probe."""
        redis = self.redis
        found = [
            Program(
                boundary=self.boundary,
                component="redis",
                name=redis.program,
                host=redis.host,
                address=redis.address,
                ports=(redis.port,),
                probe=redis.probe,
                log=redis.log,
            )
        ]
        for name, c in sorted(self.components.items()):
            found.append(
                Program(
                    boundary=self.boundary,
                    component=name,
                    name=c.program,
                    host=c.host,
                    address=c.address,
                    ports=c.ports,
                    probe=c.probe,
                    log=c.log,
                )
            )
        return found


def state_dir(repo_root: Path) -> Path:
    """The lab's state dir on the controller: ``$GALAXYLAB_STATE_DIR``, else ``<repo>/.lab``."""
    configured = os.environ.get(STATE_DIR_ENV)
    return Path(configured).resolve() if configured else repo_root / ".lab"


def manifests_dir(repo_root: Path) -> Path:
    return state_dir(repo_root) / "manifests"


def load_all(directory: Path) -> list[Manifest]:
    """Every manifest in ``directory``, validated (a ``pydantic.ValidationError`` names the bad field)."""
    return [Manifest.model_validate_json(path.read_text()) for path in sorted(directory.glob("*.json"))]


def json_schema() -> str:
    return json.dumps(Manifest.model_json_schema(), indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m galaxylab.manifest", description=__doc__.splitlines()[0])
    parser.add_argument("--schema", action="store_true", help="print the manifest's JSON Schema")
    parser.add_argument("files", nargs="*", type=Path, help="manifest files to validate")
    args = parser.parse_args(argv)
    if args.schema:
        sys.stdout.write(json_schema())
    for path in args.files:
        Manifest.model_validate_json(path.read_text())
        print(f"{path}: valid")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
