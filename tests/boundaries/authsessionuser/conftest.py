"""The authsessionuser boundary: Auth/Session called over HTTP as the gateway would (generic fixtures: harness)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from galaxy_contracts.http import AuthSessionClient
from tests.harness import secrets as lab_secrets
from tests.harness.manifest import Manifest

# authsession waits up to DOWNSTREAM_TIMEOUT_SECONDS (2 s) for User Service; the client waits longer.
CLIENT_TIMEOUT = 10.0


@pytest.fixture
async def auth(manifest: Manifest, secrets: lab_secrets.LabSecrets) -> AsyncIterator[AuthSessionClient]:
    """Auth/Session as the gateway calls it (the gateway's service token)."""
    token = secrets.service_token("gateway")
    async with AuthSessionClient(manifest.url("authsession"), token, timeout=CLIENT_TIMEOUT) as client:
        yield client
