"""HTTP errors as RFC 9457 problem+json; request bodies read strictly."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from galaxy_contracts.models import FieldViolation, Problem

MAX_BODY_BYTES = 64 * 1024
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{8,128}")
M = TypeVar("M", bound=BaseModel)

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}


class ProblemError(Exception):
    """Raise anywhere in a handler to answer with a problem."""

    def __init__(
        self, status: int, code: str, detail: str | None = None, errors: list[FieldViolation] | None = None
    ) -> None:
        super().__init__(detail or code)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors


def problem_response(
    status: int,
    code: str,
    detail: str | None = None,
    errors: list[FieldViolation] | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    remaining_attempts: int | None = None,
) -> Response:
    body = Problem(
        type=f"https://galaxy.invalid/problems/{code}",
        title=_TITLES.get(status, "Error"),
        status=status,
        code=code,
        detail=detail,
        errors=errors,
        remaining_attempts=remaining_attempts,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


async def _on_problem(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.status, exc.code, exc.detail, exc.errors)


async def _on_http(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return problem_response(exc.status_code, _CODES.get(exc.status_code, "error"), exc.detail, headers=exc.headers)


async def _on_unexpected(_: Request, exc: Exception) -> Response:
    return problem_response(500, "internal_error", "unexpected error; see the service log")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ProblemError: _on_problem,
    HTTPException: _on_http,
    Exception: _on_unexpected,
}


def violations(exc: ValidationError) -> list[FieldViolation]:
    return [
        FieldViolation(field=".".join(str(p) for p in err["loc"]) or "body", message=err["msg"])
        for err in exc.errors(include_url=False, include_input=False)
    ]


async def read_json(request: Request, model: type[M], *, strict: bool = False, forbid_null: bool = False) -> M:
    """Parse the body into ``model``: 415 not JSON, 413 too big, 400 malformed, 422 invalid.

    ``strict`` refuses coercion (``"true"`` or ``1`` for a boolean) as a wrong type (400).
    ``forbid_null`` refuses an explicit ``null`` for any field, nested ones included (400 naming each):
    an optional field may be absent, but null is not a value of it.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ProblemError(415, "unsupported_media_type", "send the body as application/json")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ProblemError(413, "payload_too_large", f"body over {MAX_BODY_BYTES} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise ProblemError(413, "payload_too_large", f"body over {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting deeper than the parser allows
        raise ProblemError(400, "malformed_body", "the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise ProblemError(400, "malformed_body", "the body must be a JSON object")
    body = _validated(model, data, strict)
    nulls = explicit_nulls(body) if forbid_null else []
    if nulls:
        errors = [FieldViolation(field=path, message="must not be null") for path in nulls]
        raise ProblemError(400, "malformed_body", "null is not a value of any field", errors)
    return body


def _validated(model: type[M], data: dict[str, Any], strict: bool) -> M:
    try:
        return model.model_validate(data, strict=strict)
    except ValidationError as exc:
        kinds = {_kind(err) for err in exc.errors()}
        if kinds & {"extra_forbidden", "model_type", "dict_type"} or any(k.endswith("_type") for k in kinds):
            raise ProblemError(400, "malformed_body", "unknown field or wrong type", violations(exc)) from exc
        raise ProblemError(422, "validation_failed", "one or more fields are invalid", violations(exc)) from exc


def read_query(request: Request, model: type[M]) -> M:
    """The query string as ``model`` (string values, validated with coercion): 422 ``validation_failed``
    naming each parameter given more than once or invalid."""
    params = request.query_params
    repeated = [name for name in params if len(params.getlist(name)) > 1]
    if repeated:
        errors = [FieldViolation(field=name, message="given more than once") for name in repeated]
        raise ProblemError(422, "validation_failed", "each parameter at most once", errors)
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        raise ProblemError(422, "validation_failed", "one or more parameters are invalid", violations(exc)) from exc


def read_idempotency_key(request: Request) -> str:
    """The ``Idempotency-Key`` header: 8-128 of ``A-Za-z0-9._:-``, else 422 ``validation_failed`` naming it."""
    key = request.headers.get("idempotency-key")
    if key is None or IDEMPOTENCY_KEY.fullmatch(key) is None:
        message = "required: 8-128 characters of A-Z a-z 0-9 . _ : -"
        errors = [FieldViolation(field="Idempotency-Key", message=message)]
        raise ProblemError(422, "validation_failed", "a valid Idempotency-Key header is required", errors)
    return key


def explicit_nulls(model: BaseModel, prefix: str = "") -> list[str]:
    """Dotted paths of the fields the client sent as ``null`` (nested models included)."""
    paths: list[str] = []
    for name in sorted(model.model_fields_set):
        value = getattr(model, name)
        if value is None:
            paths.append(prefix + name)
        elif isinstance(value, BaseModel):
            paths += explicit_nulls(value, f"{prefix}{name}.")
    return paths


def _kind(error: Any) -> str:
    """The error type; a string enum (``Literal``) given a non-string is a wrong type, not a wrong value."""
    if error["type"] == "literal_error" and not isinstance(error.get("input"), str):
        return "literal_type"
    return str(error["type"])
