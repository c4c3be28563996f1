"""The gatewayauthsession boundary: the login settings and gateway limits its tests depend on (generic
fixtures: harness)."""

from __future__ import annotations

import pytest

from tests.harness.manifest import Manifest

# docs/conventions.md defaults, used when the manifest does not publish the setting.
DEFAULT_CHALLENGE_TTL_SECONDS = 600
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_AUDIENCE = "galaxy-gateway"
DEFAULT_STARTS_PER_WINDOW = 5
DEFAULT_PEER_STARTS_PER_WINDOW = 30
DEFAULT_PEER_WINDOW_SECONDS = 60
DEFAULT_MAX_REQUEST_BYTES = 65536


@pytest.fixture
def audience(manifest: Manifest) -> str:
    return manifest.setting("authsession", "TOKEN_AUDIENCE") or DEFAULT_AUDIENCE


@pytest.fixture
def challenge_ttl(manifest: Manifest) -> int:
    return int(manifest.setting("authsession", "CHALLENGE_TTL_SECONDS") or DEFAULT_CHALLENGE_TTL_SECONDS)


@pytest.fixture
def max_attempts(manifest: Manifest) -> int:
    return int(manifest.setting("authsession", "CHALLENGE_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS)


@pytest.fixture
def starts_per_window(manifest: Manifest) -> int:
    return int(manifest.setting("authsession", "CHALLENGE_STARTS_PER_WINDOW") or DEFAULT_STARTS_PER_WINDOW)


@pytest.fixture
def peer_starts_per_window(manifest: Manifest) -> int:
    """StartLogin calls the gateway accepts from one client address per window."""
    return int(manifest.setting("gateway", "PEER_LOGIN_STARTS_PER_WINDOW") or DEFAULT_PEER_STARTS_PER_WINDOW)


@pytest.fixture
def peer_window_seconds(manifest: Manifest) -> int:
    return int(manifest.setting("gateway", "PEER_LOGIN_WINDOW_SECONDS") or DEFAULT_PEER_WINDOW_SECONDS)


@pytest.fixture
def max_request_bytes(manifest: Manifest) -> int:
    return int(manifest.setting("gateway", "MAX_REQUEST_BYTES") or DEFAULT_MAX_REQUEST_BYTES)
