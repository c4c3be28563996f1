"""Login helpers of the gatewayauthsession suite (the login itself is tests.harness.login)."""

from __future__ import annotations


def wrong(code: str) -> str:
    """Another well-formed 6-digit code."""
    return f"{(int(code) + 1) % 1_000_000:06d}"
