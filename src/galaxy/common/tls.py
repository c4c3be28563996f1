"""TLS of a program's main port and of its clients (docs/conventions.md "TLS").

A program serves its main port with TLS when ``TLS_CERT_FILE`` and ``TLS_KEY_FILE`` are set (the admin port stays
plain: readiness and metrics only, no credential crosses it). Its clients (HTTP downstreams over ``https://``,
Redis over ``rediss://``) verify the server with ``TLS_CA_FILE``, the lab's CA; without it, with the system's.
Every file is read at start: a missing or bad one is a ``ConfigError`` naming the variable, never its content.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from galaxy.common.settings import ConfigError, ListenerSettings, read_setting_file


@dataclass(frozen=True)
class ServerTLS:
    """The main port's certificate chain and private key (PEM files), checked to belong together."""

    cert_file: Path
    key_file: Path

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def chain(self) -> tuple[bytes, bytes]:
        """``(private key, certificate chain)`` PEM bytes, as gRPC's server credentials take them."""
        return self.key_file.read_bytes(), self.cert_file.read_bytes()


def server_tls(settings: ListenerSettings) -> ServerTLS | None:
    """The main port's TLS, or None when neither file is set; one without the other is a ``ConfigError``."""
    cert, key = settings.tls_cert_file, settings.tls_key_file
    if cert is None and key is None:
        return None
    prefix = str(settings.model_config.get("env_prefix", "")).upper()
    if cert is None or key is None:
        raise ConfigError(f"{prefix}TLS_CERT_FILE and {prefix}TLS_KEY_FILE are set together or not at all")
    tls = ServerTLS(cert, key)
    read_setting_file(settings, "tls_cert_file", lambda _: tls.context())
    return tls


def client_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """What a client verifies servers with: the certificates in ``ca_file``, else the system's."""
    context = ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def client_tls(settings: ListenerSettings) -> ssl.SSLContext:
    """The context a program's HTTP clients verify ``https://`` downstreams with (``TLS_CA_FILE``, read now)."""
    if settings.tls_ca_file is None:
        return client_context()
    return read_setting_file(settings, "tls_ca_file", client_context)


def client_verify(settings: ListenerSettings, *urls: str) -> ssl.SSLContext | bool:
    """What the HTTP clients of ``urls`` verify with: ``client_tls`` when one of them is ``https://`` or
    ``TLS_CA_FILE`` is set (read now); else ``True`` (galaxy_contracts' clients then build no context for a plain
    ``http://`` callee). Loading the system's CAs into a context nobody uses costs ~2 MB of the process's memory."""
    if settings.tls_ca_file is None and not any(urlsplit(url).scheme == "https" for url in urls):
        return True
    return client_tls(settings)
