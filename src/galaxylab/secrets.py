"""Per-boundary lab secrets, generated on the controller; only what is missing.

``python -m galaxylab.secrets ensure DIR --boundary B [B ...] [--bundle HOST=B1,B2 ...]``

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
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from galaxylab.plan.files import (
    CALLERS,
    OPERATOR_TOKEN,
    REDIS_USERS,
    SECRET_FILES,
    SERVICE_TOKENS,
    SIGNING_KEY,
    SIGNING_KID,
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


def bundle_bytes(root: Path, boundaries: Sequence[str]) -> bytes:
    """A deterministic tar of the boundaries' secret dirs (same files -> same bytes)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for boundary in sorted(boundaries):
            directory = root / boundary
            tar.addfile(_member(f"{boundary}/", tarfile.DIRTYPE, DIR_MODE, 0, int(directory.stat().st_mtime)))
            for name in SECRET_FILES:
                data = (directory / name).read_bytes()
                mtime = int((directory / name).stat().st_mtime)
                info = _member(f"{boundary}/{name}", tarfile.REGTYPE, FILE_MODE, len(data), mtime)
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


def write_bundle(root: Path, host: str, boundaries: Sequence[str]) -> tuple[Path, bool]:
    """Write ``root/.bundles/<host>.tar`` if its content differs. Returns (path, changed)."""
    bundles = root / BUNDLES
    _ensure_dir(bundles)
    path = bundles / f"{host}.tar"
    data = bundle_bytes(root, boundaries)
    if path.exists() and path.read_bytes() == data:
        return path, False
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    tmp.replace(path)
    return path, True


def _parse_bundle(value: str) -> tuple[str, list[str]]:
    host, sep, names = value.partition("=")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"--bundle wants HOST=BOUNDARY[,BOUNDARY...], not {value!r}")
    return host, [name for name in names.split(",") if name]


def ensure(root: Path, boundaries: Sequence[str], bundles: Sequence[tuple[str, list[str]]]) -> dict[str, object]:
    _ensure_dir(root)
    created: list[str] = []
    kids: dict[str, str] = {}
    for boundary in boundaries:
        names, kids[boundary] = ensure_boundary(root / boundary)
        created.extend(f"{boundary}/{name}" for name in names)
    bundle_paths: dict[str, str] = {}
    bundles_changed: list[str] = []
    for host, names in bundles:
        unknown = sorted(set(names) - set(boundaries))
        if unknown:
            raise ValueError(f"bundle {host}: boundaries {unknown} are not among --boundary")
        path, changed = write_bundle(root, host, names)
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m galaxylab.secrets", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    ensure_cmd = commands.add_parser("ensure", help="create what is missing, write host bundles")
    ensure_cmd.add_argument("directory", type=Path)
    ensure_cmd.add_argument("--boundary", action="extend", nargs="+", required=True, dest="boundaries")
    ensure_cmd.add_argument("--bundle", action="append", type=_parse_bundle, default=[], dest="bundles")
    args = parser.parse_args(argv)
    try:
        result = ensure(args.directory, args.boundaries, args.bundles)
    except (OSError, ValueError) as error:
        print(f"galaxylab.secrets: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
