"""``read_json(..., forbid_null=True)``: the one place that refuses ``null`` for a field that may only be absent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from galaxy.common.problems import EXCEPTION_HANDLERS, read_json
from galaxy_contracts.models import Strict


class Inner(Strict):
    enabled: bool | None = None


class Body(Strict):
    name: str | None = None
    inner: Inner | None = None
    params: dict[str, Any] | None = None


def app(*, forbid_null: bool) -> Starlette:
    async def echo(request: Request) -> Response:
        body: BaseModel = await read_json(request, Body, forbid_null=forbid_null)
        return JSONResponse(body.model_dump(exclude_unset=True))

    return Starlette(routes=[Route("/", echo, methods=["POST"])], exception_handlers=EXCEPTION_HANDLERS)


async def post(body: dict[str, Any], *, forbid_null: bool = True) -> httpx.Response:
    transport = httpx.ASGITransport(app=app(forbid_null=forbid_null))
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        return await client.post("/", json=body)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": None}, ["name"]),
        ({"inner": None}, ["inner"]),
        ({"inner": {"enabled": None}}, ["inner.enabled"]),
        ({"name": None, "inner": {"enabled": None}}, ["inner.enabled", "name"]),
    ],
    ids=["top", "nested-model", "nested-field", "several"],
)
async def test_an_explicit_null_is_400_naming_each_field(body: dict[str, Any], fields: list[str]) -> None:
    response = await post(body)

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"
    assert response.json()["errors"] == [{"field": f, "message": "must not be null"} for f in fields]


@pytest.mark.parametrize(
    "body", [{}, {"name": "x"}, {"inner": {}}, {"params": {"free": None}}], ids=["empty", "set", "nested", "dict"]
)
async def test_absent_fields_and_free_form_values_are_fine(body: dict[str, Any]) -> None:
    response = await post(body)

    assert response.status_code == 200
    assert response.json() == body


async def test_without_forbid_null_null_means_absent() -> None:
    assert (await post({"name": None}, forbid_null=False)).status_code == 200
