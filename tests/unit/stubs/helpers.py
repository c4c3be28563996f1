"""Shared bits of the stubs' unit tests: the boundary's service tokens and a caller's credential."""

from __future__ import annotations

TOKENS = {"authsession": "tok-authsession-9f2c", "gateway": "tok-gateway-41aa", "lab": "tok-lab-77d1"}


def authorization(caller: str) -> dict[str, str]:
    """The ``Authorization`` header of ``caller`` (a key of ``TOKENS``)."""
    return {"Authorization": f"Bearer {TOKENS[caller]}"}
