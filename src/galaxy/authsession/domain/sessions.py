"""Sessions and their public Redis shape (contracts/redis/keys.md)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime


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
