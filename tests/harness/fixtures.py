"""Generic fixtures of the boundary suites, registered for them by ``tests/boundaries/conftest.py``.

Everything here is driven by the ``boundary`` fixture, which each suite package
overrides in its own ``conftest.py`` (and nothing else here knows a boundary)::

    @pytest.fixture(scope="session")
    def boundary() -> str:
        return "gatewayuser"

A fixture asking for a component the boundary does not have (``users`` where
User Service is not real, ``codes`` without a mail stub) fails naming the
components the manifest does have.

Why ``manifest``, ``secrets`` and ``processes`` are function-scoped: one xdist
worker runs tests of several boundaries, and pytest caches a session- (or
package-) scoped fixture once for all of them, whichever ``boundary`` override
it first saw. They are read once per boundary instead, kept in the pytest
session's stash.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TypeVar

import pytest
import redis.asyncio as aioredis

from galaxy_contracts.gateway import GatewayClient
from galaxy_contracts.http import UserClient
from tests.harness import redis as lab_redis
from tests.harness import secrets as lab_secrets
from tests.harness.keys import unique_email
from tests.harness.login_codes import MailStubCodes
from tests.harness.manifest import Manifest, load_for_suite
from tests.harness.processes import ProcessControl
from tests.harness.stubs import StubControl

GATEWAY = "gateway"
USER = "user"
MAIL_STUB = "mail-stub"
# The lab's own credential (docs/conventions.md "Service tokens file"): operator actions and stub control.
LAB_CALLER = "lab"
# Longer than any service's DOWNSTREAM_TIMEOUT_SECONDS (2 s): a slow answer shows as the service's own error.
CLIENT_TIMEOUT = 10.0

T = TypeVar("T")
MANIFESTS = pytest.StashKey[dict[str, Manifest]]()
SECRETS = pytest.StashKey[dict[str, lab_secrets.LabSecrets]]()
PROCESSES = pytest.StashKey[dict[str, ProcessControl]]()


def once_per_boundary(
    config: pytest.Config, key: pytest.StashKey[dict[str, T]], boundary: str, make: Callable[[], T]
) -> T:
    """``make()`` the first time ``boundary`` asks for it in this pytest session, the same value after."""
    known = config.stash.setdefault(key, {})
    if boundary not in known:
        known[boundary] = make()
    return known[boundary]


@pytest.fixture(scope="session")
def boundary() -> str:
    """The suite's boundary; every suite package overrides this in its conftest.py."""
    pytest.fail(
        "a boundary suite must declare its boundary: define a session-scoped `boundary` fixture "
        "returning the boundary's name in tests/boundaries/<boundary>/conftest.py",
        pytrace=False,
    )


@pytest.fixture
def manifest(boundary: str, pytestconfig: pytest.Config) -> Manifest:
    """The boundary's manifest; skips without a lab (fails under ``CI=true``)."""
    return once_per_boundary(pytestconfig, MANIFESTS, boundary, lambda: load_for_suite(boundary))


@pytest.fixture
def secrets(manifest: Manifest, pytestconfig: pytest.Config) -> lab_secrets.LabSecrets:
    return once_per_boundary(pytestconfig, SECRETS, manifest.boundary, lambda: lab_secrets.read(manifest))


@pytest.fixture
def processes(manifest: Manifest, pytestconfig: pytest.Config) -> ProcessControl:
    """Stop/start/kill the boundary's components (only in tests marked ``disruptive``)."""
    return once_per_boundary(pytestconfig, PROCESSES, manifest.boundary, lambda: ProcessControl(manifest))


@pytest.fixture
async def redis(manifest: Manifest) -> AsyncIterator[aioredis.Redis]:
    """The boundary's Redis (decoded replies)."""
    client = lab_redis.client(manifest)
    yield client
    await client.aclose()


@pytest.fixture
async def gateway(manifest: Manifest) -> AsyncIterator[GatewayClient]:
    """The gateway's public gRPC API."""
    async with GatewayClient(manifest.endpoint(GATEWAY)) as client:
        yield client


@pytest.fixture
async def users(manifest: Manifest, secrets: lab_secrets.LabSecrets) -> AsyncIterator[UserClient]:
    """User Service's own API, called as the lab (operator actions such as blocking)."""
    token = secrets.service_token(LAB_CALLER)
    async with UserClient(manifest.url(USER), token, timeout=CLIENT_TIMEOUT) as client:
        yield client


@pytest.fixture
async def codes(manifest: Manifest, secrets: lab_secrets.LabSecrets) -> AsyncIterator[MailStubCodes]:
    """Login codes as the boundary's mail stub recorded them."""
    async with StubControl(manifest.url(MAIL_STUB), secrets.service_token(LAB_CALLER)) as stub:
        yield MailStubCodes(stub)


@pytest.fixture
def email(request: pytest.FixtureRequest) -> str:
    """A fresh address for this test (so per-address limits and codes never mix between tests)."""
    return unique_email(request.node.name)
