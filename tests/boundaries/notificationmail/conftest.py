"""The notificationmail boundary: recipients seeded in the user stub, the SMTP sink, Mail's operator surface
(generic fixtures: harness)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from galaxy_contracts.http import OperatorClient
from tests.boundaries.notificationmail.flows import Recipients
from tests.harness.clients import LAB_CALLER
from tests.harness.fixtures import Clients
from tests.harness.mail_operator import operator_client
from tests.harness.manifest import Manifest
from tests.harness.secrets import LabSecrets
from tests.harness.sink import SmtpSink
from tests.harness.stubs import StubControl

SINK = "smtp-sink"


@pytest.fixture
async def sink(manifest: Manifest, secrets: LabSecrets) -> AsyncIterator[SmtpSink]:
    """The sink's API, with a timeout for a sink busy with the disruptive scenarios' thousands of messages."""
    api, token = manifest.component(SINK).admin_url, secrets.service_token(LAB_CALLER)
    async with SmtpSink(api, token, timeout=30.0, verify=secrets.verify()) as client:
        yield client


@pytest.fixture
async def user_stub(clients: Clients) -> StubControl:
    client: StubControl = await clients("user-stub")
    return client


@pytest.fixture
def recipients(user_stub: StubControl, request: pytest.FixtureRequest) -> Recipients:
    """Seeds accounts in the user stub, each with a fresh address and display name."""
    return Recipients(user_stub, request.node.name)


@pytest.fixture
async def operator(manifest: Manifest) -> AsyncIterator[OperatorClient]:
    async with operator_client(manifest) as client:
        yield client
