"""Pydantic validation failures as field violations named after the gRPC request's fields."""

from __future__ import annotations

from pydantic import ValidationError

from galaxy.gateway.domain.errors import FieldViolation, InvalidArgument


def violations(exc: ValidationError, prefix: str = "") -> InvalidArgument:
    found = [
        FieldViolation(prefix + ".".join(str(part) for part in err["loc"]), err["msg"])
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]
    return InvalidArgument(found)
