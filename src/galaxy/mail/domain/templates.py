"""Which templates exist and the params each requires: the direct ones, plus every e-mail of the catalog."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from galaxy_contracts import streams

LOGIN_CODE = "auth.login_code"
DIRECT: dict[str, tuple[str, ...]] = {LOGIN_CODE: ("code", "expires_in_minutes")}
"""Templates sent straight over HTTP (never through notification intents), with their params."""


def required_params() -> dict[str, tuple[str, ...]]:
    """``{template: params}``: a catalog e-mail template requires the params of its intent type."""
    catalog: Mapping[str, Any] = streams.catalog()["types"]
    from_catalog = {spec["email"]["template"]: tuple(spec["params"]) for spec in catalog.values() if "email" in spec}
    return DIRECT | from_catalog


def context(to: str, locale: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """What a template sees: ``params``, ``recipient`` (``email``, ``display_name`` or None) and ``locale``.

    The recipient's name comes from ``params.recipient.display_name`` (what Notification Service writes, the
    same ``recipient`` its push templates see) or ``params.display_name`` (a direct send).
    """
    given = params.get("recipient")
    name = given.get("display_name") if isinstance(given, Mapping) else params.get("display_name")
    recipient = {"email": to, "display_name": name if isinstance(name, str) and name.strip() else None}
    return {"params": dict(params), "recipient": recipient, "locale": locale}
