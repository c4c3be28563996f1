"""Per-boundary lab secrets, generated on the controller; only what is missing.

``python -m galaxylab.secrets ensure DIR --boundary B [B ...] [--bundle HOST=B1,B2 ...] [--tls HOST=ADDRESS ...]``

For each boundary ``DIR/<boundary>/`` (0700) gets, files 0600:

- ``service-tokens.json``  ``{gateway, authsession, notification, lab}`` random tokens
- ``<caller>.token``       each caller's own entry of that file
- ``signing-key.pem``      Ed25519 private key (PKCS#8 PEM) authsession signs sessions with
- ``token-keys.json``      ``{kid: public PEM}`` the gateway (and tests) verify with
- ``signing-kid``          the key id: derived from the public key, so it never drifts from it
- ``operator.token``       the Mail operator credential
- ``redis-<user>.password`` each Redis ACL user's password (services, ``harness``, ``admin``); redis.conf
                           holds only its SHA-256 digest (``redis_password_hashes``)

A ``--bundle`` writes ``DIR/.bundles/<HOST>.tar``: the named boundaries' directories, for
Ansible to unpack on that host in one step. The bundle is rewritten only when its bytes change.

``--tls HOST=ADDRESS`` (a lab with TLS on, one per lab host): the lab's CA in ``DIR/.tls/`` (``ca.pem``; its key
``ca.key`` never leaves the controller) and the host's server certificate for its address and name
(``<HOST>.pem``, ``<HOST>.key``; re-issued when the address changed, the CA changed or its end is near); that
host's bundle then also holds, in each of its boundaries' directories, ``tls-ca.pem``, ``tls-cert.pem`` and
``tls-key.pem`` (galaxylab.certificates).

Prints one JSON object (what changed, the kids, the bundle paths) and never a secret.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import secrets
import sys
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from galaxylab import certificates
from galaxylab.plan.files import (
    CALLERS,
    OPERATOR_TOKEN,
    REDIS_USERS,
    SECRET_FILES,
    SERVICE_TOKENS,
    SIGNING_KEY,
    SIGNING_KID,
    TLS_CA,
    TLS_CERT,
    TLS_DIR,
    TLS_KEY,
    TOKEN_KEYS,
    redis_password_file,
)

DIR_MODE = 0o700
FILE_MODE = 0o600
BUNDLES = ".bundles"
TOKEN_BYTES = 32


def _token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def _write(path: Path, data: str) -> None:
    """Create ``path`` with mode 0600 from the first byte (never readable by others, even briefly)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "w") as handle:
        handle.write(data)


def _ensure_dir(path: Path) -> None:
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    path.chmod(DIR_MODE)


def kid_of(private_pem: bytes) -> str:
    """Key id: the first 16 base64url characters of SHA-256 over the raw public key."""
    key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("signing key is not an Ed25519 private key")
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")[:16]


def _public_pem(private_pem: bytes) -> str:
    key = serialization.load_pem_private_key(private_pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("signing key is not an Ed25519 private key")
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def ensure_boundary(directory: Path) -> tuple[list[str], str]:
    """Create the missing secret files of one boundary. Returns (created file names, kid)."""
    _ensure_dir(directory)
    created: list[str] = []

    tokens_path = directory / SERVICE_TOKENS
    if not tokens_path.exists():
        _write(tokens_path, json.dumps({caller: _token() for caller in CALLERS}, indent=2) + "\n")
        created.append(SERVICE_TOKENS)
    tokens = json.loads(tokens_path.read_text())
    for caller in CALLERS:
        if caller not in tokens:
            raise ValueError(f"{tokens_path} has no token for {caller}: remove the file to regenerate it")
        path = directory / f"{caller}.token"
        if not path.exists():
            _write(path, tokens[caller] + "\n")
            created.append(path.name)

    key_path = directory / SIGNING_KEY
    if not key_path.exists():
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write(key_path, pem.decode())
        created.append(SIGNING_KEY)
    private_pem = key_path.read_bytes()
    kid = kid_of(private_pem)
    if not (directory / TOKEN_KEYS).exists():
        _write(directory / TOKEN_KEYS, json.dumps({kid: _public_pem(private_pem)}, indent=2) + "\n")
        created.append(TOKEN_KEYS)
    if not (directory / SIGNING_KID).exists():
        _write(directory / SIGNING_KID, kid + "\n")
        created.append(SIGNING_KID)
    for name in (OPERATOR_TOKEN, *(redis_password_file(user) for user in REDIS_USERS)):
        if not (directory / name).exists():
            _write(directory / name, _token() + "\n")
            created.append(name)
    for name in SECRET_FILES:
        (directory / name).chmod(FILE_MODE)
    return created, kid


def redis_password_hashes(directory: Path) -> dict[str, str]:
    """``{Redis user: SHA-256 hex of its password}``, as redis.conf's ``user ... #<hex>`` wants it.

    The password is the file's content without surrounding whitespace, as the services read it.
    """
    return {
        user: hashlib.sha256((directory / redis_password_file(user)).read_text().strip().encode()).hexdigest()
        for user in REDIS_USERS
    }


# --- TLS: the lab's CA and one server certificate per host ------------------------------------------

CA_CERT_FILE = "ca.pem"
CA_KEY_FILE = "ca.key"


def _write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, 0600 from the first byte."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)


def _read_pair(directory: Path, name: str) -> certificates.Pair | None:
    try:
        return certificates.Pair(
            key=(directory / f"{name}.key").read_bytes(), cert=(directory / f"{name}.pem").read_bytes()
        )
    except FileNotFoundError:
        return None


def _write_pair(directory: Path, name: str, pair: certificates.Pair) -> None:
    _write_bytes(directory / f"{name}.key", pair.key)
    _write_bytes(directory / f"{name}.pem", pair.cert)


def host_tls_files(root: Path, host: str) -> dict[str, Path]:
    """``{name in a boundary's directory on the host: file on the controller}`` of a host's TLS files."""
    directory = root / TLS_DIR
    return {TLS_CA: directory / CA_CERT_FILE, TLS_CERT: directory / f"{host}.pem", TLS_KEY: directory / f"{host}.key"}


def tls_current(root: Path, hosts: Mapping[str, str]) -> bool:
    """Whether the lab's CA and every host's certificate (``{host: address}``) are there and still right."""
    directory = root / TLS_DIR
    ca = _read_pair(directory, "ca")
    if ca is None or not certificates.ca_current(ca):
        return False
    for host, address in hosts.items():
        pair = _read_pair(directory, host)
        if pair is None or not certificates.current(ca.cert, pair, host, address):
            return False
    return all(path.stat().st_mode & 0o777 == FILE_MODE for path in directory.iterdir())


def ensure_tls(root: Path, hosts: Mapping[str, str]) -> list[str]:
    """The lab's CA and each host's certificate for its address, made or re-issued when missing or not right.
    Returns what was (re)written, relative to ``root``."""
    directory = root / TLS_DIR
    _ensure_dir(directory)
    created: list[str] = []
    ca = _read_pair(directory, "ca")
    if ca is None or not certificates.ca_current(ca):
        ca = certificates.new_ca(secrets.token_hex(4))
        _write_pair(directory, "ca", ca)
        created += [f"{TLS_DIR}/{CA_CERT_FILE}", f"{TLS_DIR}/{CA_KEY_FILE}"]
    for host, address in sorted(hosts.items()):
        pair = _read_pair(directory, host)
        if pair is None or not certificates.current(ca.cert, pair, host, address):
            _write_pair(directory, host, certificates.issue(ca, host, address))
            created += [f"{TLS_DIR}/{host}.pem", f"{TLS_DIR}/{host}.key"]
    for path in directory.iterdir():
        path.chmod(FILE_MODE)
    return created


def bundle_bytes(root: Path, boundaries: Sequence[str], tls_host: str | None = None) -> bytes:
    """A deterministic tar of the boundaries' secret dirs (same files -> same bytes); with ``tls_host``, each
    directory also holds the lab's CA and that host's certificate and key."""
    tls = host_tls_files(root, tls_host) if tls_host else {}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for boundary in sorted(boundaries):
            directory = root / boundary
            tar.addfile(_member(f"{boundary}/", tarfile.DIRTYPE, DIR_MODE, 0, int(directory.stat().st_mtime)))
            files = {name: directory / name for name in SECRET_FILES} | tls
            for name, path in files.items():
                data = path.read_bytes()
                info = _member(f"{boundary}/{name}", tarfile.REGTYPE, FILE_MODE, len(data), int(path.stat().st_mtime))
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _member(name: str, kind: bytes, mode: int, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name.rstrip("/"))
    info.type = kind
    info.mode = mode
    info.size = size
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def write_bundle(root: Path, host: str, boundaries: Sequence[str], tls: bool = False) -> tuple[Path, bool]:
    """Write ``root/.bundles/<host>.tar`` (with the host's TLS files when ``tls``) if its content differs.
    Returns (path, changed)."""
    bundles = root / BUNDLES
    _ensure_dir(bundles)
    path = bundles / f"{host}.tar"
    data = bundle_bytes(root, boundaries, host if tls else None)
    if path.exists() and path.read_bytes() == data:
        return path, False
    _write_bytes(path, data)
    return path, True


def _parse_bundle(value: str) -> tuple[str, list[str]]:
    host, sep, names = value.partition("=")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"--bundle wants HOST=BOUNDARY[,BOUNDARY...], not {value!r}")
    return host, [name for name in names.split(",") if name]


def ensure(
    root: Path,
    boundaries: Sequence[str],
    bundles: Sequence[tuple[str, list[str]]],
    tls_hosts: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """Every boundary's missing secrets, the TLS files of ``tls_hosts`` (``{host: address}``; none: no TLS) and
    one bundle per host."""
    tls_hosts = tls_hosts or {}
    _ensure_dir(root)
    created: list[str] = []
    kids: dict[str, str] = {}
    for boundary in boundaries:
        names, kids[boundary] = ensure_boundary(root / boundary)
        created.extend(f"{boundary}/{name}" for name in names)
    if tls_hosts:
        created.extend(ensure_tls(root, tls_hosts))
    bundle_paths: dict[str, str] = {}
    bundles_changed: list[str] = []
    for host, names in bundles:
        unknown = sorted(set(names) - set(boundaries))
        if unknown:
            raise ValueError(f"bundle {host}: boundaries {unknown} are not among --boundary")
        path, changed = write_bundle(root, host, names, tls=host in tls_hosts)
        bundle_paths[host] = str(path)
        if changed:
            bundles_changed.append(host)
    return {
        "changed": bool(created or bundles_changed),
        "created": created,
        "bundles_changed": bundles_changed,
        "kids": kids,
        "bundles": bundle_paths,
    }


def _parse_tls(value: str) -> tuple[str, str]:
    host, sep, address = value.partition("=")
    if not sep or not host or not address:
        raise argparse.ArgumentTypeError(f"--tls wants HOST=ADDRESS, not {value!r}")
    return host, address


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m galaxylab.secrets", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ensure_cmd = commands.add_parser("ensure", help="create what is missing, write host bundles")
    ensure_cmd.add_argument("directory", type=Path)
    ensure_cmd.add_argument("--boundary", action="extend", nargs="+", required=True, dest="boundaries")
    ensure_cmd.add_argument("--bundle", action="append", type=_parse_bundle, default=[], dest="bundles")
    ensure_cmd.add_argument("--tls", action="append", type=_parse_tls, default=[], dest="tls_hosts")
    args = parser.parse_args(argv)
    try:
        result = ensure(args.directory, args.boundaries, args.bundles, dict(args.tls_hosts))
    except (OSError, ValueError) as error:
        print(f"galaxylab.secrets: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
