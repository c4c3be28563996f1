"""Which templates Mail Service accepts and the params each requires (contracts/http/mail.openapi.yaml,
``DeliveryRequest.template``): the direct templates the contract names, plus every e-mail of the catalog.

Mail Service and its lab double refuse the same requests with the same answer because both read this.
"""

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
