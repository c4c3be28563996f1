"""The login's entities and values: challenges (a 6-digit CSPRNG code kept only as a keyed hash, with a TTL
and an attempt limit), sessions and their public Redis shape, the intents authsession produces, what login
knows of an account, and the session-token signer. No I/O."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from galaxy.authsession.domain.errors import ChallengeNotFound, TooManyAttempts
from galaxy_contracts import tokens
from galaxy_contracts.models import Locale

CODE_DIGITS = 6
_CODE_KEY_INFO = b"galaxy-authsession login-code hmac v1"
WELCOME = "account.welcome"

# --- challenges ----------------------------------------------------------------------------------


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
    welcome_clock_skew_seconds: float = 3600
    """How far User Service's clock may lag authsession's when the relay judges whether an account is new."""


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


# --- accounts, sessions, intents -------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedAccount:
    user_id: str
    blocked: bool
    created: bool
    """True only for the one resolve that created the account."""
    created_at: float = 0.0
    """When User Service created the account (seconds since the epoch, its clock)."""


def new_session_id() -> str:
    return "s_" + secrets.token_hex(16)


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def from_rfc3339(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@dataclass(frozen=True)
class Session:
    session_id: str
    user_id: str
    kid: str
    created_at: int
    expires_at: int

    @classmethod
    def open(cls, user_id: str, kid: str, *, now: float, ttl_seconds: int) -> Session:
        issued = int(now)
        return cls(new_session_id(), user_id, kid, created_at=issued, expires_at=issued + ttl_seconds)

    @property
    def ttl_seconds(self) -> int:
        return self.expires_at - self.created_at

    def fields(self) -> dict[str, str]:
        """The hash ``authsession:session:{session_id}``."""
        return {
            "user_id": self.user_id,
            "created_at": rfc3339(self.created_at),
            "expires_at": rfc3339(self.expires_at),
            "kid": self.kid,
        }

    @classmethod
    def from_fields(cls, session_id: str, fields: dict[str, str]) -> Session:
        return cls(
            session_id=session_id,
            user_id=fields["user_id"],
            kid=fields.get("kid", ""),
            created_at=int(from_rfc3339(fields["created_at"])),
            expires_at=int(from_rfc3339(fields["expires_at"])),
        )

    def active(self, now: float) -> bool:
        return now < self.expires_at


def new_intent_id() -> str:
    return "i_" + secrets.token_hex(16)


def welcome_intent_id(user_id: str) -> str:
    """One ``account.welcome`` id per account: a welcome written again (relayed after a crash, or by two
    confirms racing) is a duplicate Notification handles once."""
    return "i_" + hashlib.sha256(f"{WELCOME}:{user_id}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Intent:
    intent_id: str
    type: str
    user_id: str
    occurred_at: float
    params: dict[str, Any] = field(default_factory=dict)


def account_welcome(user_id: str, *, now: float) -> Intent:
    return Intent(welcome_intent_id(user_id), WELCOME, user_id, occurred_at=now)


@dataclass(frozen=True)
class Claim:
    """One confirm's hold on a challenge."""

    token: str
    resumed: bool
    """An earlier confirm of this challenge claimed it and did not finish (its welcome note was still there):
    that confirm may have created the account, so whether a welcome is owed is judged by the account's age."""


def welcome_owed(account: ResolvedAccount, *, since: float, clock_skew_seconds: float) -> bool:
    """Whether ``account`` is new to a login started at ``since``: created by this resolve, or created no earlier
    than the login started (less the clocks' possible difference: a welcome wrongly deemed owed is a duplicate
    of the one its creator wrote, with the same intent id, handled once)."""
    return account.created or account.created_at >= since - clock_skew_seconds


@dataclass(frozen=True)
class WelcomeNote:
    """Written with a confirm's claim, before User Service is asked: this confirm may create an account that
    is owed a welcome. Opening the session removes it (writing the welcome if the account is new); a note
    left behind by a confirm that never finished is settled by the relay (``LoginService.relay_welcomes``)."""

    challenge_id: str
    email: str
    locale: Locale | None
    started_at: float
    """When the login's challenge was started (seconds since the epoch, authsession's clock)."""
    attempts: int = 0

    def owes_welcome(self, account: ResolvedAccount, *, clock_skew_seconds: float) -> bool:
        return welcome_owed(account, since=self.started_at, clock_skew_seconds=clock_skew_seconds)


# --- session tokens ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    key: Ed25519PrivateKey
    kid: str
    audience: str

    def sign(self, session: Session) -> str:
        return tokens.sign(
            self.key,
            self.kid,
            user_id=session.user_id,
            session_id=session.session_id,
            audience=self.audience,
            ttl_seconds=session.ttl_seconds,
            now=session.created_at,
        )

    def public_pem(self) -> str:
        return tokens.public_pem(self.key)


@dataclass(frozen=True)
class OpenedSession:
    session: Session
    token: str
    new_account: bool
