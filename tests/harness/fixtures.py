"""Generic fixtures of the boundary suites, registered for them by ``tests/boundaries/conftest.py``.

Everything here is driven by the ``boundary`` fixture: the name of the suite's
package directly under a ``boundaries`` directory (``tests/boundaries/<boundary>/``),
so a suite never states its boundary twice. Clients of any component come from
``clients`` (``await clients("mail")``), typed by the component's kind
(tests/harness/clients.py); ``gateway``, ``users`` and ``codes`` are shorthands.

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
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis.asyncio as aioredis

from galaxy_contracts.gateway import GatewayClient
from galaxy_contracts.http import UserClient
from tests.harness import redis as lab_redis
from tests.harness import secrets as lab_secrets
from tests.harness.clients import client_for
from tests.harness.keys import unique_email
from tests.harness.login_codes import MailStubCodes
from tests.harness.manifest import Manifest, load_for_suite
from tests.harness.processes import ProcessControl
from tests.harness.suites import SUITES_DIR, boundary_in

GATEWAY = "gateway"
USER = "user"
MAIL_STUB = "mail-stub"

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


def boundary_of(path: Path) -> str | None:
    """The boundary a test file belongs to: its package directly under a ``boundaries`` directory."""
    return boundary_in(path.resolve().parts)


def module_lab(request: pytest.FixtureRequest) -> tuple[Manifest, lab_secrets.LabSecrets]:
    """The requesting module's boundary manifest and secrets, the same cached ones the per-test ``manifest`` and
    ``secrets`` fixtures give, for a module-scoped fixture (a suite's one outage) that cannot ask for those."""
    name = boundary_of(request.path)
    assert name is not None, f"{request.path} is not in a boundary suite"
    manifest = once_per_boundary(request.config, MANIFESTS, name, lambda: load_for_suite(name))
    return manifest, once_per_boundary(request.config, SECRETS, name, lambda: lab_secrets.read(manifest))


@pytest.fixture
def boundary(request: pytest.FixtureRequest) -> str:
    """The suite's boundary: the name of its package (``tests/boundaries/<boundary>/``)."""
    name = boundary_of(request.path)
    if name is None:
        pytest.fail(
            f"{request.path} is not in a boundary suite: suites live in tests/{SUITES_DIR}/<boundary>/",
            pytrace=False,
        )
    return name


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


class Clients:
    """Opens a client of any component of the boundary, typed by its kind; all closed with the test."""

    def __init__(self, manifest: Manifest, secrets: lab_secrets.LabSecrets, stack: AsyncExitStack) -> None:
        self._manifest = manifest
        self._secrets = secrets
        self._stack = stack

    async def __call__(self, component: str) -> Any:
        return await self._stack.enter_async_context(client_for(self._manifest.component(component), self._secrets))


@pytest.fixture
async def clients(manifest: Manifest, secrets: lab_secrets.LabSecrets) -> AsyncIterator[Clients]:
    """``await clients("mail")``: the component's published-contract client (tests/harness/clients.py)."""
    async with AsyncExitStack() as stack:
        yield Clients(manifest, secrets, stack)


@pytest.fixture
async def gateway(clients: Clients) -> GatewayClient:
    """The gateway's public gRPC API."""
    client: GatewayClient = await clients(GATEWAY)
    return client


@pytest.fixture
async def users(clients: Clients) -> UserClient:
    """User Service's own API, called as the lab (operator actions such as blocking)."""
    client: UserClient = await clients(USER)
    return client


@pytest.fixture
async def codes(clients: Clients) -> MailStubCodes:
    """Login codes as the boundary's mail stub recorded them."""
    return MailStubCodes(await clients(MAIL_STUB))


@pytest.fixture
def email(request: pytest.FixtureRequest) -> str:
    """A fresh address for this test (so per-address limits and codes never mix between tests)."""
    return unique_email(request.node.name)
