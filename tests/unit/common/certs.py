"""A lab CA and a server certificate for 127.0.0.1 written to files, as galaxylab.secrets writes them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from galaxylab import certificates

ADDRESS = "127.0.0.1"


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path

    def ca_pem(self) -> bytes:
        return self.ca.read_bytes()


def write_tls(directory: Path, lab: str = "unit", host: str = "lab-a", address: str = ADDRESS) -> TlsFiles:
    """A CA of its own (another call: another CA) and ``host``'s certificate for ``address``, files 0600."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = certificates.new_ca(lab)
    server = certificates.issue(ca, host, address)
    files = TlsFiles(directory / "tls-ca.pem", directory / "tls-cert.pem", directory / "tls-key.pem")
    for path, data in ((files.ca, ca.cert), (files.cert, server.cert), (files.key, server.key)):
        path.write_bytes(data)
        path.chmod(0o600)
    return files
