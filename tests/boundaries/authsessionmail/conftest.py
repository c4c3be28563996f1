"""The authsessionmail boundary: Mail's clients, the SMTP sink and Mail's lab settings (generic fixtures: harness)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from galaxy_contracts.http import AuthSessionClient, MailClient, OperatorClient
from tests.boundaries.authsessionmail.flows import MailSettings, SinkFaults, sink_client
from tests.harness.fixtures import Clients
from tests.harness.mail_operator import operator_client
from tests.harness.manifest import Manifest
from tests.harness.secrets import LabSecrets
from tests.harness.sink import SmtpSink


@pytest.fixture
async def sink(manifest: Manifest, secrets: LabSecrets) -> AsyncIterator[SmtpSink]:
    async with sink_client(manifest, secrets) as client:
        yield client


@pytest.fixture
async def mail(clients: Clients) -> MailClient:
    """Mail Service's own API, called as the lab."""
    client: MailClient = await clients("mail")
    return client


@pytest.fixture
async def authsession(clients: Clients) -> AuthSessionClient:
    client: AuthSessionClient = await clients("authsession")
    return client


@pytest.fixture
async def operator(manifest: Manifest) -> AsyncIterator[OperatorClient]:
    """Mail's operator surface with the operator token."""
    async with operator_client(manifest) as client:
        yield client


@pytest.fixture
def mail_settings(manifest: Manifest) -> MailSettings:
    return MailSettings.of(manifest)


@pytest.fixture
async def faults(sink: SmtpSink) -> AsyncIterator[SinkFaults]:
    """SMTP faults this test adds to the sink; all removed after it, whatever happened."""
    added = SinkFaults(sink)
    yield added
    await added.remove_all()
