"""The component catalog (``components.yaml``): every kind of component and how the lab wires it.

A kind of component is data, not planner code: its program, ports, readiness probe, the secret
files and generated values it reads, the components it links to and its lab settings. The
planner (``galaxylab.plan.wiring``) turns an entry into a program's environment generically.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from galaxylab.plan.files import REDIS_USERS, SECRET_NAMES

# Highest offset any component may use (smtp-sink API = 81), so port ranges of two boundaries never overlap.
PORT_SPAN = 82
ADMIN_OFFSET = 1
REDIS = "redis"
SETTING_NAME = r"^[A-Z][A-Z0-9_]*$"
_KIND = re.compile(r"^[a-z][a-z0-9-]*$")


class CatalogError(ValueError):
    """The catalog data is inconsistent; the message says where."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Link(_Spec):
    """A setting that points at another component of the same boundary."""

    to: tuple[str, ...] = Field(min_length=1)
    form: Literal["url", "endpoint", "address", "port", "tls"] = "url"
    missing: Literal["error", "omit", "unreachable"] = "error"


# Redis ACL: a key pattern, a command (``hget``) or a subcommand (``xgroup|create``), a channel pattern.
KEY_PATTERN = r"^[a-z][a-z0-9:*{}_-]*$"
COMMAND = r"^[a-z]+(\|[a-z-]+)?$"


class RedisAccess(_Spec):
    """What the component's own Redis ACL user may do (contracts/redis/keys.md "Who may touch what").

    ``keys``: ``{pattern: access}``; a key passed to a Lua script needs ``read-write`` (Redis checks a
    script's declared keys for both). ``commands``: every command the component sends, including those
    its Lua scripts call. ``channels``: Pub/Sub channel patterns (none: no Pub/Sub at all).
    """

    user: str | None = Field(default=None, description="the ACL user; default the component's kind")
    keys: dict[str, Literal["read", "write", "read-write"]] = Field(min_length=1)
    commands: tuple[str, ...] = Field(min_length=1)
    channels: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _rules(self) -> Self:
        bad = [k for k in self.keys if not re.match(KEY_PATTERN, k)]
        bad += [c for c in self.commands if not re.match(COMMAND, c)]
        bad += [c for c in self.channels if not re.match(KEY_PATTERN, c)]
        if bad:
            raise ValueError(f"redis: {bad} are not key patterns, lowercase commands or channel patterns")
        if self.user is not None and self.user not in REDIS_USERS:
            raise ValueError(f"redis user {self.user!r} has no password file (Redis users: {', '.join(REDIS_USERS)})")
        return self


class ComponentSpec(_Spec):
    program: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    env_prefix: str = Field(pattern=r"^[A-Z][A-Z0-9_]*_$")
    port_offset: int = Field(ge=1, le=PORT_SPAN - 1 - ADMIN_OFFSET)
    protocol: Literal["grpc", "http", "smtp"]
    tier: Literal["service", "double"]
    redis: RedisAccess | None = None
    probe: Literal["healthz", "smtp"] = "healthz"
    listens: tuple[Literal["main", "admin"], ...] = ("main", "admin")
    admin_setting: str = Field(default="ADMIN_PORT", pattern=SETTING_NAME)
    admin_tls: bool = False
    secrets: dict[str, str] = {}
    generated: dict[str, Literal["signing_kid"]] = {}
    links: dict[str, Link] = {}
    settings: dict[str, str] = {}
    # Variables of the program's process itself (the C library's, the interpreter's): not settings, so
    # without the prefix and not in the manifest.
    process_environment: dict[str, str] = {}

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        unknown = sorted(set(self.secrets.values()) - set(SECRET_NAMES))
        if unknown:
            raise ValueError(f"unknown secret files {unknown} (known: {', '.join(SECRET_NAMES)})")
        if self.probe == "healthz" and "admin" not in self.listens:
            raise ValueError("probe healthz needs the admin port in listens")
        if self.probe == "smtp" and "main" not in self.listens:
            raise ValueError("probe smtp needs the main port in listens")
        names = [*self.secrets, *self.generated, *self.links, *self.settings]
        bad = [name for name in names if not re.match(SETTING_NAME, name)]
        if bad:
            raise ValueError(f"settings {bad} must be UPPER_CASE without the prefix")
        prefixed = [name for name in self.process_environment if name.startswith(self.env_prefix)]
        if prefixed or not all(re.match(SETTING_NAME, name) for name in self.process_environment):
            raise ValueError(f"process_environment {sorted(self.process_environment)}: UPPER_CASE, not settings")
        return self


class Catalog(_Spec):
    version: Literal[1]
    components: dict[str, ComponentSpec]

    @model_validator(mode="after")
    def _links_and_ports(self) -> Self:
        offsets: dict[int, str] = {}
        for kind, spec in self.components.items():
            if not _KIND.match(kind) or kind == REDIS:
                raise ValueError(f"component kind {kind!r} must be lowercase letters, digits and '-', not 'redis'")
            for port in (spec.port_offset, spec.port_offset + ADMIN_OFFSET):
                if port in offsets:
                    raise ValueError(f"{kind}: port offset {port} is also {offsets[port]}'s")
                offsets[port] = kind
            if spec.redis is not None and (spec.redis.user or kind) not in REDIS_USERS:
                raise ValueError(f"{kind}: uses Redis but {kind!r} is no Redis user (name one of {REDIS_USERS})")
            for setting, link in spec.links.items():
                unknown = [target for target in link.to if target not in self.components]
                if unknown:
                    raise ValueError(f"{kind}: {setting} links to unknown kinds {unknown}")
        return self

    def spec(self, kind: str) -> ComponentSpec:
        return self.components[kind]

    def with_components(self, extra: dict[str, ComponentSpec]) -> Catalog:
        """This catalog plus ``extra`` kinds, validated as a whole (tests register made-up kinds this way)."""
        components = {kind: spec.model_dump() for kind, spec in {**self.components, **extra}.items()}
        return parse_catalog({"version": 1, "components": components})


def parse_catalog(data: object) -> Catalog:
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(f"component catalog: {exc}") from exc


@cache
def default_catalog() -> Catalog:
    """The lab's catalog, shipped with the package (``galaxylab/plan/components.yaml``)."""
    text = resources.files(__package__).joinpath("components.yaml").read_text()
    return parse_catalog(yaml.safe_load(text))
