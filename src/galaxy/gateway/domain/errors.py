"""The gateway's errors, one per status of the proto's error contract, and how downstream answers map to them.

The transport turns each into a gRPC status; messages are for humans and never carry a token or a key.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from galaxy_contracts.http import ApiError

ACCOUNT_BLOCKED = "account is blocked"
TOO_MANY_LOGINS = "too many logins started for this e-mail address; wait a few minutes before starting another"


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class GatewayError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(GatewayError):
    """Malformed input; ``violations`` name each offending request field."""

    def __init__(self, violations: Sequence[FieldViolation], summary: str = "invalid argument") -> None:
        details = "; ".join(f"{v.field}: {v.description}" for v in violations)
        super().__init__(f"{summary}: {details}" if details else summary)
        self.violations = tuple(violations)


class Unauthenticated(GatewayError):
    pass


class WrongCode(Unauthenticated):
    def __init__(self, remaining_attempts: int | None) -> None:
        if remaining_attempts is None:
            super().__init__("wrong login code")
        else:
            super().__init__(f"wrong login code; {remaining_attempts} attempt(s) remaining")
        self.remaining_attempts = remaining_attempts


class NotFound(GatewayError):
    pass


class PermissionDenied(GatewayError):
    pass


class ResourceExhausted(GatewayError):
    pass


class TooManyStarts(ResourceExhausted):
    """The client address made too many StartLogin calls in the current window; ``retry_after`` seconds
    until it ends."""

    def __init__(self, retry_after: float) -> None:
        wait = max(1, math.ceil(retry_after))
        super().__init__(f"too many logins started from this client address; retry in {wait}s")
        self.retry_after = retry_after


class TooManySubscriptions(ResourceExhausted):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"this user already has {limit} open push streams on this gateway, the most it allows; "
            "close one before subscribing again"
        )
        self.limit = limit


class DeadlineExceeded(GatewayError):
    """The RPC did not finish within the gateway's own time for a call."""

    def __init__(self, budget: float) -> None:
        super().__init__(f"no answer within the gateway's {budget:g}s for a call; try again later")
        self.budget = budget


class FailedPrecondition(GatewayError):
    pass


class OutOfRange(GatewayError):
    """A position past the end of what exists (a push cursor newer than the newest retained event)."""


class ServiceUnavailable(GatewayError):
    """A downstream service (or the gateway's own Redis) is down, timed out or answered 5xx."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} unavailable: {reason}")
        self.service = service
        self.reason = reason


def invalid(field: str, description: str) -> InvalidArgument:
    return InvalidArgument([FieldViolation(field, description)])


def violations(exc: ValidationError, prefix: str = "") -> InvalidArgument:
    """Pydantic validation failures as field violations named after the gRPC request's fields."""
    found = [
        FieldViolation(prefix + ".".join(str(part) for part in err["loc"]), err["msg"])
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    return InvalidArgument(found)


def from_api_error(exc: ApiError, *, field_prefix: str = "", not_found: str = "not found") -> GatewayError:
    """A downstream 4xx problem as the gateway error a client should see.

    ``field_prefix`` places downstream field names inside the gRPC request (``account.``);
    ``not_found`` says what was missing, in the words of the calling RPC.
    """
    problem = exc.problem
    if exc.status in (400, 413, 422):
        return InvalidArgument(_violations(exc, field_prefix), f"{exc.service} refused the request")
    if exc.status == 401:
        if problem.code == "invalid_code":
            return WrongCode(_remaining_attempts(exc))
        return ServiceUnavailable(exc.service, "it refused the gateway's service credential")
    if exc.status == 403:
        return PermissionDenied(ACCOUNT_BLOCKED if problem.code == "account_blocked" else "not allowed")
    if exc.status == 404:
        return NotFound(not_found)
    if exc.status == 429 and problem.code == "too_many_challenges":
        return ResourceExhausted(TOO_MANY_LOGINS)
    if exc.status == 429:
        return ResourceExhausted("too many wrong codes; the login challenge is spent, start a new login")
    return ServiceUnavailable(exc.service, f"unexpected answer HTTP {exc.status} ({problem.code})")


def _violations(exc: ApiError, prefix: str) -> list[FieldViolation]:
    errors = exc.problem.errors or []
    found = [FieldViolation(prefix + _strip_body(e.field), e.message) for e in errors]
    if found:
        return found
    return [FieldViolation(prefix.rstrip(".") or "request", exc.problem.detail or exc.problem.title)]


def _strip_body(field: str) -> str:
    return field.removeprefix("body.") if field != "body" else field


def _remaining_attempts(exc: ApiError) -> int | None:
    """authsession's ``remaining_attempts`` member of the problem (contracts/http/components/problem.yaml)."""
    value = exc.problem.remaining_attempts
    return value if value is not None and value >= 0 else None
