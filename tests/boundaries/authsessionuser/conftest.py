"""The authsessionuser boundary: Auth/Session called over HTTP as the gateway would (generic fixtures: harness)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from galaxy_contracts.http import AuthSessionClient
from tests.boundaries.authsessionuser.flows import CLIENT_TIMEOUT
from tests.harness import secrets as lab_secrets
from tests.harness.manifest import Manifest


@pytest.fixture
async def auth(manifest: Manifest, secrets: lab_secrets.LabSecrets) -> AsyncIterator[AuthSessionClient]:
    """Auth/Session as the gateway calls it (the gateway's service token)."""
    token = secrets.service_token("gateway")
    async with AuthSessionClient(
        manifest.url("authsession"), token, timeout=CLIENT_TIMEOUT, verify=lab_secrets.verify(manifest)
    ) as client:
        yield client
