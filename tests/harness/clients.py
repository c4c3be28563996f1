"""Clients of a boundary's components by kind: which published-contract client speaks to each kind.

The ``clients`` fixture (tests/harness/fixtures.py) opens one for any component of the manifest;
a new kind of component is one entry in ``FACTORIES``, not a new fixture.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from galaxy_contracts.gateway import GatewayClient
from galaxy_contracts.http import AuthSessionClient, MailClient, UserClient
from tests.harness import seen
from tests.harness.manifest import Component
from tests.harness.secrets import LabSecrets
from tests.harness.sink import SmtpSink
from tests.harness.stubs import StubControl

# The lab's own credential (docs/conventions.md "Service tokens file"): operator actions and stub control.
LAB_CALLER = "lab"
# Longer than any service's DOWNSTREAM_TIMEOUT_SECONDS (2 s): a slow answer shows as the service's own error.
CLIENT_TIMEOUT = 10.0

Factory = Callable[[Component, LabSecrets], AbstractAsyncContextManager[Any]]


def _lab_token(secrets: LabSecrets) -> str:
    return secrets.service_token(LAB_CALLER)


def _roots(component: Component, secrets: LabSecrets) -> bytes | None:
    """The lab's CA for a component whose main port speaks TLS (the gRPC channel verifies with it)."""
    return secrets.tls_ca if component.tls else None


FACTORIES: dict[str, Factory] = {
    "gateway": lambda c, s: GatewayClient(c.endpoint, interceptors=[seen.SeenLogins()], root_certificates=_roots(c, s)),
    "authsession": lambda c, s: AuthSessionClient(
        c.url or "", _lab_token(s), timeout=CLIENT_TIMEOUT, verify=s.verify()
    ),
    "user": lambda c, s: UserClient(c.url or "", _lab_token(s), timeout=CLIENT_TIMEOUT, verify=s.verify()),
    "mail": lambda c, s: MailClient(c.url or "", _lab_token(s), timeout=CLIENT_TIMEOUT, verify=s.verify()),
    "user-stub": lambda c, s: StubControl(c.url or "", _lab_token(s), verify=s.verify()),
    "mail-stub": lambda c, s: StubControl(c.url or "", _lab_token(s), verify=s.verify()),
    # The sink's HTTP API is its admin port (SMTP is the main one); https:// with the lab's TLS on.
    "smtp-sink": lambda c, s: SmtpSink(c.admin_url, _lab_token(s), verify=s.verify()),
}


def client_for(component: Component, secrets: LabSecrets) -> AbstractAsyncContextManager[Any]:
    try:
        factory = FACTORIES[component.kind]
    except KeyError:
        known = ", ".join(sorted(FACTORIES))
        raise KeyError(
            f"no client for components of kind {component.kind!r} (tests/harness/clients.py knows {known})"
        ) from None
    return factory(component, secrets)
