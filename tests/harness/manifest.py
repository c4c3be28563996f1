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
from pydantic import ValidationError

from galaxylab import manifest as lab_manifest
from galaxylab.manifest import STATE_DIR_ENV, Component, Host, Manifest, Probe, Program, RedisInstance, Secrets

__all__ = [
    "STATE_DIR_ENV",
    "Component",
    "Host",
    "Manifest",
    "ManifestInvalid",
    "ManifestMissing",
    "Probe",
    "Program",
    "RedisInstance",
    "Secrets",
    "load",
    "load_all",
    "load_for_suite",
    "manifest_path",
    "state_dir",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
BRING_UP_HINT = "run `make lab` (or `make up`) to bring the lab up first"


class ManifestMissing(Exception):
    """No manifest for the boundary: the lab is not up (or not for this boundary)."""


class ManifestInvalid(Exception):
    """The manifest exists but does not validate against ``galaxylab.manifest.Manifest``."""


def state_dir() -> Path:
    return lab_manifest.state_dir(REPO_ROOT)


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
        raise ManifestInvalid(f"{path} does not validate against galaxylab.manifest.Manifest: {exc}") from exc
    if manifest.boundary != boundary:
        raise ManifestInvalid(f"{path} describes boundary {manifest.boundary!r}, not {boundary!r}")
    return manifest


def load_all() -> list[Manifest]:
    """Every boundary's manifest in the state dir, validated (empty when the lab is not up)."""
    try:
        return lab_manifest.load_all(state_dir() / "manifests")
    except ValidationError as exc:
        raise ManifestInvalid(f"a manifest in {state_dir() / 'manifests'} does not validate: {exc}") from exc


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
