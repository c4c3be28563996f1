"""The login RPCs' input rules (contracts/http/authsession.openapi.yaml), checked before any call."""

from __future__ import annotations

import re

from pydantic import ValidationError

from galaxy.gateway.domain.errors import FieldViolation, InvalidArgument
from galaxy.gateway.domain.validation import violations
from galaxy_contracts.models import CHALLENGE_ID_PATTERN, ConfirmRequest, StartChallengeRequest


def start_request(email: str, locale: str) -> StartChallengeRequest:
    """An empty locale means the default (``en``)."""
    try:
        return StartChallengeRequest.model_validate({"email": email, "locale": locale or None})
    except ValidationError as exc:
        raise violations(exc) from None


def confirm_request(challenge_id: str, code: str) -> ConfirmRequest:
    found = []
    if not re.fullmatch(CHALLENGE_ID_PATTERN, challenge_id):
        found.append(FieldViolation("challenge_id", "must be the challenge_id StartLogin returned (c_ + 32 hex)"))
    try:
        request = ConfirmRequest(code=code)
    except ValidationError:
        found.append(FieldViolation("code", "must be the 6-digit code from the e-mail"))
    if found:
        raise InvalidArgument(found)
    return request
