"""What login needs to know of an account (User Service owns accounts)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResolvedAccount:
    user_id: str
    blocked: bool
    created: bool
    """True only for the one resolve that created the account."""
