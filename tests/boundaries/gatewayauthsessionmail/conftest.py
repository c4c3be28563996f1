"""The gatewayauthsessionmail boundary: Mail's operator surface and the codes read through it (generic fixtures:
harness)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from galaxy_contracts.http import OperatorClient
from tests.harness import secrets as lab_secrets
from tests.harness.mail_operator import MAIL, operator_client
from tests.harness.mail_operator import operator_token as read_operator_token
from tests.harness.mailed_codes import OperatorCodes
from tests.harness.manifest import Manifest


@pytest.fixture
async def operator(manifest: Manifest) -> AsyncIterator[OperatorClient]:
    """Mail's operator surface with the operator token."""
    async with operator_client(manifest) as client:
        yield client


@pytest.fixture
def mailed(operator: OperatorClient) -> OperatorCodes:
    """Login codes as Mail rendered them, read through its operator surface."""
    return OperatorCodes(operator)


@pytest.fixture
async def mail_http(manifest: Manifest) -> AsyncIterator[httpx.AsyncClient]:
    """Plain HTTP to Mail, no credential: for what a client outside the contract sends (https, verified with
    the lab's CA, when the lab's TLS is on)."""
    async with httpx.AsyncClient(
        base_url=manifest.component(MAIL).url or "", timeout=10.0, verify=lab_secrets.verify(manifest)
    ) as client:
        yield client


@pytest.fixture
def operator_token(manifest: Manifest) -> str:
    return read_operator_token(manifest)
