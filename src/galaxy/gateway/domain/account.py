"""UpdateMyAccount's field-mask rules: only the masked, allowed fields are sent, validated first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from galaxy.gateway.domain.errors import FieldViolation, InvalidArgument, invalid
from galaxy.gateway.domain.validation import violations
from galaxy_contracts.models import AccountUpdate

PREFERENCES = "notification_preferences"
PREFERENCE_FIELDS = ("email_enabled", "push_enabled")
ALLOWED_PATHS = ("display_name", "locale", PREFERENCES, *(f"{PREFERENCES}.{f}" for f in PREFERENCE_FIELDS))


@dataclass(frozen=True)
class AccountValues:
    """The values of the request's ``account`` message (proto defaults when unset)."""

    display_name: str = ""
    locale: str = ""
    email_enabled: bool = False
    push_enabled: bool = False


def account_update(paths: Sequence[str], values: AccountValues) -> AccountUpdate:
    """The update naming exactly the masked fields; ``InvalidArgument`` naming any bad path or value."""
    if not paths:
        raise invalid("update_mask", f"name at least one field to update; allowed: {', '.join(ALLOWED_PATHS)}")
    unknown = [p for p in paths if p not in ALLOWED_PATHS]
    if unknown:
        raise InvalidArgument([FieldViolation("update_mask.paths", _unknown(path)) for path in unknown])
    try:
        return AccountUpdate.model_validate(_body(set(paths), values))
    except ValidationError as exc:
        raise violations(exc, prefix="account.") from None


def _unknown(path: str) -> str:
    return f"'{path}' cannot be updated; allowed: {', '.join(ALLOWED_PATHS)}"


def _body(paths: set[str], values: AccountValues) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if "display_name" in paths:
        body["display_name"] = values.display_name
    if "locale" in paths:
        body["locale"] = values.locale
    preferences = {
        field: getattr(values, field)
        for field in PREFERENCE_FIELDS
        if PREFERENCES in paths or f"{PREFERENCES}.{field}" in paths
    }
    if preferences:
        body[PREFERENCES] = preferences
    return body
