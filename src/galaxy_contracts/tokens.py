"""Session tokens (contracts/tokens/session-token.md): sign and verify.

authsession signs, the gateway verifies, the lab mints test tokens.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ISSUER = "galaxy-authsession"
ALGORITHM = "EdDSA"
LEEWAY_SECONDS = 5
REQUIRED_CLAIMS = ["iss", "sub", "sid", "aud", "iat", "exp"]


class InvalidToken(Exception):
    """The token is not acceptable; the message says why (never echoes the token)."""


@dataclass(frozen=True)
class Claims:
    user_id: str
    session_id: str
    audience: str
    issued_at: int
    expires_at: int


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def load_public_keys(path: Path) -> dict[str, Ed25519PublicKey]:
    """The lab's ``token-keys.json``: ``{kid: public PEM}``."""
    return public_keys_from_pem(json.loads(path.read_text()))


def public_keys_from_pem(pems: dict[str, str]) -> dict[str, Ed25519PublicKey]:
    keys: dict[str, Ed25519PublicKey] = {}
    for kid, pem in pems.items():
        key = serialization.load_pem_public_key(pem.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"key {kid} is not Ed25519")
        keys[kid] = key
    return keys


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def sign(
    key: Ed25519PrivateKey,
    kid: str,
    *,
    user_id: str,
    session_id: str,
    audience: str,
    ttl_seconds: int,
    now: float | None = None,
) -> str:
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": ISSUER,
        "sub": user_id,
        "sid": session_id,
        "aud": audience,
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})


def verify(token: str, keys: dict[str, Ed25519PublicKey], audience: str) -> Claims:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed token") from exc
    key = keys.get(str(header.get("kid", "")))
    if key is None:
        raise InvalidToken("unknown signing key")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise InvalidToken("token not issued for this audience") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("token signature or claims invalid") from exc
    return Claims(
        user_id=str(claims["sub"]),
        session_id=str(claims["sid"]),
        audience=audience,
        issued_at=int(claims["iat"]),
        expires_at=int(claims["exp"]),
    )
