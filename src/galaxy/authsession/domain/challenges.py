"""Login challenges: a 6-digit CSPRNG code, kept only as a keyed hash, with a TTL and an attempt limit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from galaxy.authsession.domain.errors import ChallengeNotFound, TooManyAttempts
from galaxy_contracts.models import Locale

CODE_DIGITS = 6
_CODE_KEY_INFO = b"galaxy-authsession login-code hmac v1"


def new_challenge_id() -> str:
    return "c_" + secrets.token_hex(16)


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


class CodeHasher:
    """HMAC-SHA256 of (challenge id, code) under a key that never reaches Redis.

    A 6-digit code has only a million values: a plain or salted hash in Redis
    could be reversed offline, a keyed one cannot without the key.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("code key must be at least 32 bytes")
        self._key = key

    @classmethod
    def from_signing_key(cls, key: Ed25519PrivateKey) -> CodeHasher:
        """Derive the key from the signing key, so every instance of the boundary agrees without a new secret."""
        raw = key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return cls(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_CODE_KEY_INFO).derive(raw))

    def digest(self, challenge_id: str, code: str) -> str:
        return hmac.new(self._key, f"{challenge_id}:{code}".encode(), hashlib.sha256).hexdigest()

    def matches(self, challenge_id: str, code: str, stored: str) -> bool:
        return hmac.compare_digest(self.digest(challenge_id, code), stored)


@dataclass(frozen=True)
class ChallengePolicy:
    ttl_seconds: int
    max_attempts: int
    claim_seconds: float
    """How long one confirm may hold the challenge while it talks to User Service."""
    starts_per_window: int = 5
    """Challenges one e-mail address may start per window (each one brings ``max_attempts`` guesses)."""
    start_window_seconds: int = 600


@dataclass(frozen=True)
class Challenge:
    """A challenge as stored: never the code, only its keyed hash."""

    challenge_id: str
    email: str
    locale: Locale | None
    code_hash: str
    attempts: int
    created_at: float
    expires_at: float

    @classmethod
    def issue(
        cls, email: str, locale: Locale | None, code: str, hasher: CodeHasher, *, now: float, ttl_seconds: int
    ) -> Challenge:
        challenge_id = new_challenge_id()
        return cls(
            challenge_id=challenge_id,
            email=email,
            locale=locale,
            code_hash=hasher.digest(challenge_id, code),
            attempts=0,
            created_at=now,
            expires_at=now + ttl_seconds,
        )

    def accepts(self, code: str, hasher: CodeHasher, *, now: float, max_attempts: int) -> bool:
        """Whether ``code`` is right; refuses an expired or spent challenge whatever the code."""
        if now >= self.expires_at:
            raise ChallengeNotFound
        if self.attempts >= max_attempts:
            raise TooManyAttempts
        return hasher.matches(self.challenge_id, code, self.code_hash)


def expires_in_minutes(ttl_seconds: int) -> int:
    return -(-ttl_seconds // 60)
