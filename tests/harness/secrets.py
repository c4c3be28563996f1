"""The boundary's credentials, read from the files the manifest names.

Files are read on the secrets host through testinfra (local or SSH), the way a
caller on that host would read them; nothing is generated or guessed here and
nothing read is ever printed (reprs hide the values).
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field
from typing import Any

import testinfra
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.harness.manifest import Manifest


class SecretUnreadable(RuntimeError):
    """A credential file named in the manifest is missing or malformed (its content is never shown)."""


@dataclass(frozen=True)
class LabSecrets:
    boundary: str
    service_tokens: dict[str, str] = field(repr=False)
    signing_key: Ed25519PrivateKey = field(repr=False)
    signing_kid: str
    token_keys: dict[str, str] = field(repr=False)
    tls_ca: bytes | None = None
    """The lab's CA certificate (PEM) when its TLS is on (manifest ``secrets.tls_ca``), else None."""

    def verify(self) -> ssl.SSLContext | bool:
        """What an HTTP client checks an ``https://`` component with: the lab's CA (True: the system's)."""
        return tls_context(self.tls_ca) if self.tls_ca is not None else True

    def service_token(self, caller: str) -> str:
        """The token a caller (``gateway``, ``authsession``, ``notification``, ``lab``) sends."""
        try:
            return self.service_tokens[caller]
        except KeyError:
            known = ", ".join(sorted(self.service_tokens))
            raise KeyError(f"{self.boundary}: no service token for caller {caller!r} (callers: {known})") from None


def read(manifest: Manifest) -> LabSecrets:
    spec = manifest.secrets
    host = testinfra.get_host(manifest.host(spec.host).testinfra)
    tokens = _json_object(_read(host, spec.service_tokens), spec.service_tokens)
    key_pems = _json_object(_read(host, spec.token_keys), spec.token_keys)
    return LabSecrets(
        boundary=manifest.boundary,
        service_tokens={str(k): str(v) for k, v in tokens.items()},
        signing_key=_private_key(_read(host, spec.signing_key), spec.signing_key),
        signing_kid=spec.signing_kid,
        token_keys={str(k): str(v) for k, v in key_pems.items()},
        tls_ca=None if spec.tls_ca is None else _read(host, spec.tls_ca),
    )


def tls_context(ca: bytes) -> ssl.SSLContext:
    """A client context trusting only ``ca`` (the lab's CA, PEM), checking the server's name or address."""
    context = ssl.create_default_context(cadata=ca.decode())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def read_tls_ca(manifest: Manifest) -> bytes | None:
    """The lab's CA certificate (PEM) read on the secrets host, or None when the lab's TLS is off."""
    path = manifest.secrets.tls_ca
    if path is None:
        return None
    return _read(testinfra.get_host(manifest.host(manifest.secrets.host).testinfra), path)


def verify(manifest: Manifest) -> ssl.SSLContext | bool:
    """What an HTTP client checks the boundary's ``https://`` components with: the lab's CA when its TLS is on
    (read once per boundary), else True (the system's)."""
    if manifest.secrets.tls_ca is None:
        return True
    if manifest.boundary not in _CA_CONTEXTS:
        ca = read_tls_ca(manifest)
        assert ca is not None
        _CA_CONTEXTS[manifest.boundary] = tls_context(ca)
    return _CA_CONTEXTS[manifest.boundary]


_CA_CONTEXTS: dict[str, ssl.SSLContext] = {}


def read_text(manifest: Manifest, path: str) -> str:
    """Any other credential file of the boundary (e.g. the operator token), stripped."""
    host = testinfra.get_host(manifest.host(manifest.secrets.host).testinfra)
    return _read(host, path).decode().strip()


def _read(host: Any, path: str) -> bytes:
    file = host.file(path)
    if not file.is_file:
        raise SecretUnreadable(f"credential file {path} is missing on the secrets host")
    content: bytes = file.content
    return content


def _json_object(content: bytes, path: str) -> dict[str, Any]:
    try:
        value = json.loads(content)
    except ValueError:
        raise SecretUnreadable(f"{path} is not JSON") from None
    if not isinstance(value, dict):
        raise SecretUnreadable(f"{path} is not a JSON object")
    return value


def _private_key(content: bytes, path: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(content, password=None)
    except ValueError:
        raise SecretUnreadable(f"{path} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SecretUnreadable(f"{path} is not an Ed25519 private key")
    return key
