"""Request parsing shared by the stubs' routes, on top of galaxy.common.problems."""

from __future__ import annotations

import re
from typing import TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse

from galaxy.common.problems import ProblemError, read_json
from galaxy_contracts.models import FieldViolation

M = TypeVar("M", bound=BaseModel)


async def read_body(request: Request, model: type[M]) -> M:
    """``read_json`` without coercion (as the services read), and a present field is never ``null``."""
    return await read_json(request, model, strict=True, forbid_null=True)


def path_id(request: Request, name: str, pattern: str) -> str:
    """A path parameter checked against the contract's pattern (422 otherwise)."""
    value: str = request.path_params[name]
    if re.fullmatch(pattern, value) is None:
        errors = [FieldViolation(field=name, message=f"must match {pattern}")]
        raise ProblemError(422, "validation_failed", f"{name} is malformed", errors)
    return value


def model_response(model: BaseModel, status: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status)
