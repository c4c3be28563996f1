"""A boundary's manifest: everything a suite may know about the provisioned lab.

Ansible writes one JSON per boundary to ``<state dir>/manifests/<boundary>.json``
(docs/conventions.md "Manifest"); the state dir is ``.lab`` under the repository
unless ``GALAXYLAB_STATE_DIR`` says otherwise. Tests read only this file, never
guess a port, a path or a program name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

STATE_DIR_ENV = "GALAXYLAB_STATE_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]
BRING_UP_HINT = "run `make lab` (or `make up`) to bring the lab up first"


class ManifestMissing(Exception):
    """No manifest for the boundary: the lab is not up (or not for this boundary)."""


class ManifestInvalid(Exception):
    """The manifest exists but does not have the documented shape."""


class _Model(BaseModel):
    # The lab may add fields; the harness reads the documented ones.
    model_config = ConfigDict(extra="ignore", frozen=True)


class Component(_Model):
    kind: str
    host: str
    address: str
    program: str
    admin_url: str
    log: str
    endpoint: str | None = None
    url: str | None = None
    # Effective, non-secret settings of the component, without the env prefix (e.g. CHALLENGE_TTL_SECONDS).
    settings: dict[str, str] = {}

    @property
    def healthz(self) -> str:
        return f"{self.admin_url.rstrip('/')}/healthz"


class RedisInstance(_Model):
    url: str
    mode: str
    host: str
    program: str


class Host(_Model):
    testinfra: str
    supervisorctl: str


class Secrets(_Model):
    dir: str
    host: str
    service_tokens: str
    signing_key: str
    token_keys: str
    signing_kid: str
    operator_token: str | None = None


class Manifest(_Model):
    boundary: str
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

    def endpoint(self, name: str) -> str:
        """gRPC ``host:port`` of a component."""
        value = self.component(name).endpoint
        if not value:
            raise KeyError(f"{self.boundary}: component {name!r} has no gRPC endpoint in the manifest")
        return value

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


def state_dir() -> Path:
    configured = os.environ.get(STATE_DIR_ENV)
    return Path(configured).resolve() if configured else REPO_ROOT / ".lab"


def manifest_path(boundary: str) -> Path:
    return state_dir() / "manifests" / f"{boundary}.json"


def load(boundary: str) -> Manifest:
    path = manifest_path(boundary)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ManifestMissing(f"no lab manifest for boundary {boundary!r} at {path}: {BRING_UP_HINT}") from None
    try:
        manifest = Manifest.model_validate_json(text)
    except ValidationError as exc:
        raise ManifestInvalid(f"{path} does not match docs/conventions.md: {exc}") from exc
    if manifest.boundary != boundary:
        raise ManifestInvalid(f"{path} describes boundary {manifest.boundary!r}, not {boundary!r}")
    return manifest


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def load_for_suite(boundary: str) -> Manifest:
    """The manifest, or a skip with the bring-up hint; under CI (``CI=true``) a missing lab fails."""
    try:
        return load(boundary)
    except ManifestMissing as exc:
        _lab_missing(str(exc))


def _lab_missing(reason: str) -> NoReturn:
    if under_ci():
        pytest.fail(f"{reason} (CI=true: a missing lab is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)
