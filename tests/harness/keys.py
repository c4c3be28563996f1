"""Unique identities per test, so tests never collide and run in parallel (pytest-xdist).

Every value carries the xdist worker name and a random part; e-mails use a
domain that validates as a real address (``example.com`` is reserved for
documentation, never delivered to).
"""

from __future__ import annotations

import os
import re
import uuid

EMAIL_DOMAIN = "lab.example.com"
_LABEL_MAX = 24
_NOT_LABEL = re.compile(r"[^a-z0-9]+")


def worker() -> str:
    """The xdist worker running this test (``gw0``, ...), or ``main`` without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def label(text: str) -> str:
    """``text`` reduced to lowercase letters, digits and dashes, short enough for an e-mail local part."""
    cleaned = _NOT_LABEL.sub("-", text.lower()).strip("-")
    return cleaned[:_LABEL_MAX].rstrip("-") or "t"


def unique_email(tag: str = "user") -> str:
    return f"{label(tag)}-{worker()}-{uuid.uuid4().hex[:16]}@{EMAIL_DOMAIN}"


def unique_user_id() -> str:
    """A well-formed user id (``^u_[0-9a-f]{32}$``) no account has."""
    return f"u_{uuid.uuid4().hex}"


def unique_session_id() -> str:
    """A well-formed session id (``^s_[0-9a-f]{32}$``) no session has."""
    return f"s_{uuid.uuid4().hex}"


def unique_challenge_id() -> str:
    """A well-formed challenge id (``^c_[0-9a-f]{32}$``) no challenge has."""
    return f"c_{uuid.uuid4().hex}"


def unique_intent_id() -> str:
    """A well-formed intent id (``^i_[0-9a-f]{32}$``)."""
    return f"i_{uuid.uuid4().hex}"


def unique_name(tag: str = "name") -> str:
    """A unique display-name-sized string (at most 64 characters)."""
    return f"{label(tag)} {uuid.uuid4().hex[:12]}"
