"""Mail Service's operator surface (``/v1/operator/...`` of contracts/http/mail.openapi.yaml), as an operator.

The operator token is the boundary's ``operator.token`` (the manifest's
``secrets.operator_token``), read on the secrets host like every credential,
never printed. Generic: any boundary with a ``mail`` component.
"""

from __future__ import annotations

from galaxy_contracts.http import OperatorClient
from tests.harness import secrets as lab_secrets
from tests.harness.manifest import Manifest

MAIL = "mail"
CLIENT_TIMEOUT = 10.0


def operator_token(manifest: Manifest) -> str:
    return lab_secrets.read_text(manifest, manifest.secrets.operator_token)


def operator_client(manifest: Manifest, component: str = MAIL, *, token: str | None = None) -> OperatorClient:
    """A client of the component's operator surface with the operator token (or ``token``, to try others)."""
    url = manifest.component(component).url or ""
    token = operator_token(manifest) if token is None else token
    return OperatorClient(url, token, timeout=CLIENT_TIMEOUT, verify=lab_secrets.verify(manifest))
