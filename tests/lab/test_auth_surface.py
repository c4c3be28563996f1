"""Every route of every HTTP service and double in the lab refuses a caller without its credential.

Driven by the manifests and the OpenAPI documents (contracts/http): each operation that declares a
security requirement answers 401 without a token and 401 with another boundary's token; operations
that need the operator credential answer 403 to one of the boundary's own service tokens. Auth comes
before parsing, so the request body is empty and path parameters are placeholders.
"""

from __future__ import annotations

import ssl
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from galaxy_contracts.http import tls_context
from tests.harness import secrets as lab_secrets
from tests.harness.manifest import Manifest
from tests.lab.provisioned import all_manifests, manifests

pytestmark = [pytest.mark.lab, pytest.mark.lab_state]

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "http"
# Which published contract each kind of HTTP component serves (doubles serve their service's contract).
CONTRACT_OF = {
    "user": "user",
    "user-stub": "user",
    "authsession": "authsession",
    "mail": "mail",
    "mail-stub": "mail",
}
METHODS = ("get", "post", "put", "patch", "delete")
TIMEOUT = 10.0


@cache
def operations(contract: str) -> list[tuple[str, str, list[str]]]:
    """``(METHOD, path, [security scheme names])`` of each operation that needs a credential.

    Read once per contract (every component that serves it asks) with libyaml's loader when PyYAML has it:
    collection runs in every pytest process of a check, and the pure-Python parser is several times slower."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text = (CONTRACTS / f"{contract}.openapi.yaml").read_text()
    document: dict[str, Any] = yaml.load(text, Loader=loader)
    default = document.get("security", [])
    found = []
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                security = item[method].get("security", default)
                schemes = sorted({name for requirement in security for name in requirement})
                if schemes:
                    found.append((method.upper(), path, schemes))
    return found


def routes() -> list[Any]:
    params = []
    for manifest in manifests():
        for name, component in sorted(manifest.components.items()):
            contract = CONTRACT_OF.get(component.kind)
            if contract is None:
                continue
            for method, path, schemes in operations(contract):
                ident = f"{manifest.boundary}-{name}-{method}-{path}"
                params.append(pytest.param(manifest, name, method, path, schemes, id=ident))
    return params


def url(manifest: Manifest, component: str, path: str) -> str:
    concrete = path.replace("{", "").replace("}", "")  # /v1/accounts/{user_id} -> /v1/accounts/user_id
    return f"{manifest.url(component)}{concrete}"


def call(manifest: Manifest, component: str, method: str, path: str, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if method in ("POST", "PUT", "PATCH"):
        headers["Content-Type"] = "application/json"
        headers["Idempotency-Key"] = "auth-surface-check"
    content = b"{}" if method in ("POST", "PUT", "PATCH") else None
    return httpx.request(
        method,
        url(manifest, component, path),
        headers=headers,
        content=content,
        timeout=TIMEOUT,
        verify=verify(manifest),
    )


_VERIFY: dict[str, ssl.SSLContext] = {}


def verify(manifest: Manifest) -> ssl.SSLContext:
    """The lab's CA when its TLS is on (read once per boundary), else the process's shared trust store."""
    if manifest.boundary not in _VERIFY:
        ca = lab_secrets.read_tls_ca(manifest)
        _VERIFY[manifest.boundary] = lab_secrets.tls_context(ca) if ca is not None else tls_context()
    return _VERIFY[manifest.boundary]


_SECRETS: dict[str, lab_secrets.LabSecrets] = {}


def boundary_secrets(manifest: Manifest) -> lab_secrets.LabSecrets:
    """The boundary's secrets, read once (three files and a private key to parse: every route tries them)."""
    if manifest.boundary not in _SECRETS:
        _SECRETS[manifest.boundary] = lab_secrets.read(manifest)
    return _SECRETS[manifest.boundary]


def another_boundarys_token(manifest: Manifest) -> str:
    other = next((m for m in all_manifests() if m.boundary != manifest.boundary), None)
    if other is None:
        pytest.skip("only one boundary is up: no other boundary's token to try")
    return boundary_secrets(other).service_token("lab")


def assert_problem(answer: httpx.Response, status: int) -> None:
    assert answer.status_code == status, (
        f"{answer.request.method} {answer.request.url}: {answer.status_code} {answer.text}"
    )
    assert answer.headers.get("content-type", "").startswith("application/problem+json"), answer.headers


@pytest.mark.parametrize(("manifest", "component", "method", "path", "schemes"), routes())
def test_without_a_token_the_route_answers_401(
    manifest: Manifest, component: str, method: str, path: str, schemes: list[str]
) -> None:
    assert_problem(call(manifest, component, method, path, None), 401)


@pytest.mark.parametrize(("manifest", "component", "method", "path", "schemes"), routes())
def test_with_another_boundarys_token_the_route_refuses(
    manifest: Manifest, component: str, method: str, path: str, schemes: list[str]
) -> None:
    """401 (not a credential of this boundary); an operator route says 403: a wrong credential (mail v1)."""
    expected = 403 if schemes == ["operatorToken"] else 401
    assert_problem(call(manifest, component, method, path, another_boundarys_token(manifest)), expected)


OPERATOR_ROUTES = [p for p in routes() if p.values[4] == ["operatorToken"]]


@pytest.mark.parametrize(("manifest", "component", "method", "path", "schemes"), OPERATOR_ROUTES)
def test_an_operator_route_answers_403_to_a_service_token(
    manifest: Manifest, component: str, method: str, path: str, schemes: list[str]
) -> None:
    service_token = boundary_secrets(manifest).service_token("gateway")
    assert_problem(call(manifest, component, method, path, service_token), 403)
