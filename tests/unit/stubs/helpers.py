"""Shared bits of the stubs' unit tests: the boundary's service tokens, the operator token, a caller's
credential and a stub app built as the program builds it."""

from __future__ import annotations

from starlette.types import ASGIApp

from galaxylab.stubs.main import create_app
from galaxylab.stubs.settings import Kind

TOKENS = {"authsession": "tok-authsession-9f2c", "gateway": "tok-gateway-41aa", "lab": "tok-lab-77d1"}
OPERATOR_TOKEN = "tok-operator-5e0b"


def authorization(caller: str) -> dict[str, str]:
    """The ``Authorization`` header of ``caller`` (a key of ``TOKENS``, or ``operator``)."""
    token = OPERATOR_TOKEN if caller == "operator" else TOKENS[caller]
    return {"Authorization": f"Bearer {token}"}


def stub_app(kind: Kind) -> ASGIApp:
    """A stub of ``kind`` with the boundary's tokens (and, for mail, the operator token)."""
    return create_app(kind, TOKENS, OPERATOR_TOKEN)
