"""What a template sees when it is rendered; which templates exist and their params is the contract's
(galaxy_contracts.mail_templates)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from galaxy_contracts.mail_templates import LOGIN_CODE, required_params

__all__ = ["LOGIN_CODE", "context", "required_params"]


def context(to: str, locale: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """What a template sees: ``params``, ``recipient`` (``email``, ``display_name`` or None) and ``locale``.

    The recipient's name comes from ``params.recipient.display_name`` (what Notification Service writes, the
    same ``recipient`` its push templates see) or ``params.display_name`` (a direct send).
    """
    given = params.get("recipient")
    name = given.get("display_name") if isinstance(given, Mapping) else params.get("display_name")
    recipient = {"email": to, "display_name": name if isinstance(name, str) and name.strip() else None}
    return {"params": dict(params), "recipient": recipient, "locale": locale}
