"""Mail's operator surface admits the operator credential only (401 without one, 403 with any other, e.g. a
service token) and answers bad filters with problem+json naming them."""

from __future__ import annotations

import httpx
import pytest

from galaxy_contracts.models import Problem
from tests.harness.keys import unique_name
from tests.harness.secrets import LabSecrets

PROBLEM = "application/problem+json"
LIST = "/v1/operator/deliveries"
ONE = "/v1/operator/deliveries/d_" + "0" * 32
ROUTES = [LIST, ONE]
CALLERS = ["gateway", "authsession", "notification", "lab"]


def problem(response: httpx.Response, status: int) -> Problem:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM
    return Problem.model_validate_json(response.content)


@pytest.mark.parametrize("path", ROUTES)
async def test_no_credential_is_unauthorized(mail_http: httpx.AsyncClient, path: str) -> None:
    assert problem(await mail_http.get(path), 401).code


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("caller", CALLERS)
async def test_a_service_token_is_forbidden(
    mail_http: httpx.AsyncClient, secrets: LabSecrets, caller: str, path: str
) -> None:
    response = await mail_http.get(path, headers={"Authorization": f"Bearer {secrets.service_token(caller)}"})

    assert problem(response, 403).code


@pytest.mark.parametrize("path", ROUTES)
async def test_an_unknown_token_is_forbidden(mail_http: httpx.AsyncClient, path: str) -> None:
    response = await mail_http.get(path, headers={"Authorization": f"Bearer {unique_name('forged').replace(' ', '-')}"})

    assert problem(response, 403).code


async def test_refusal_does_not_echo_the_token(mail_http: httpx.AsyncClient, secrets: LabSecrets) -> None:
    token = secrets.service_token("lab")

    response = await mail_http.get(LIST, headers={"Authorization": f"Bearer {token}"})

    assert token not in response.text


BAD_FILTERS = [
    ("status", "lost"),
    ("limit", "0"),
    ("limit", "201"),
    ("limit", "many"),
    ("to", "not-an-address"),
    ("template", "t" * 129),
]


@pytest.mark.parametrize(("name", "value"), BAD_FILTERS, ids=[f"{n}={v[:12]}" for n, v in BAD_FILTERS])
async def test_bad_filter_is_a_validation_problem_naming_it(
    mail_http: httpx.AsyncClient, operator_token: str, name: str, value: str
) -> None:
    response = await mail_http.get(LIST, params={name: value}, headers=bearer(operator_token))

    found = problem(response, 422)
    assert found.code == "validation_failed"
    assert name in [e.field for e in found.errors or []], found.errors


async def test_repeated_filter_is_a_validation_problem(mail_http: httpx.AsyncClient, operator_token: str) -> None:
    response = await mail_http.get(
        LIST, params=[("status", "sent"), ("status", "failed")], headers=bearer(operator_token)
    )

    assert problem(response, 422).code == "validation_failed"


async def test_malformed_delivery_id_is_a_validation_problem(mail_http: httpx.AsyncClient, operator_token: str) -> None:
    response = await mail_http.get(f"{LIST}/not-a-delivery", headers=bearer(operator_token))

    assert problem(response, 422).code == "validation_failed"


async def test_unknown_delivery_is_not_found(mail_http: httpx.AsyncClient, operator_token: str) -> None:
    assert problem(await mail_http.get(ONE, headers=bearer(operator_token)), 404).code


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
