"""The running app conforms to contracts/http/mail.openapi.yaml (schemathesis, in process, bounded).

A well-formed generated ``delivery_id`` is swapped for a seeded delivery's, so 200 answers (not only
404s) are checked too; operator operations get the operator token, the others a service token.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import email_validator
import fakeredis
import httpx
import schemathesis
from schemathesis.hooks import HookContext
from starlette.applications import Starlette

from galaxy.mail.domain.model import DELIVERY_ID, MailRequest, Origin
from galaxy.mail.main import compose, create_app
from galaxy_contracts import SPEC_DIR
from tests.unit.mail.conftest import write_settings
from tests.unit.mail.helpers import LOGIN_CODE, OPERATOR, TOKENS, post_delivery, until_status

CONTRACT = SPEC_DIR / "http" / "mail.openapi.yaml"
SERVICE = {"Authorization": f"Bearer {TOKENS['lab']}"}
CONFIG = {
    "operations": [
        {"include-path-regex": "^/v1/deliveries", "headers": SERVICE},
        {"include-path-regex": "^/v1/operator/", "headers": OPERATOR},
    ],
    "generation": {"max-examples": 25, "mode": "all", "deterministic": True},
    "checks": {
        # The schema cannot say which template exists or which params it needs, nor that a key is used once
        # per request: valid-looking data may get 422 (and a random id 404).
        "positive_data_acceptance": {"expected-statuses": ["2xx", "404", "422"]},
    },
}


def _app(server: fakeredis.FakeServer) -> Starlette:
    """The real app (stub provider) over fakeredis; secrets are read at creation."""
    with tempfile.TemporaryDirectory() as directory:
        settings = write_settings(Path(directory))
        return create_app(settings, fakeredis.FakeAsyncRedis(server=server, decode_responses=True))


async def _seed(server: fakeredis.FakeServer) -> str:
    redis = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    with tempfile.TemporaryDirectory() as directory:
        mail = compose(write_settings(Path(directory)), redis)
    request = MailRequest(LOGIN_CODE["to"], LOGIN_CODE["template"], "en", dict(LOGIN_CODE["params"]))
    delivery, _ = await mail.deliveries.submit(request, Origin("http", "seeded-key", caller="lab"))
    await redis.aclose()
    return delivery.delivery_id


SERVER = fakeredis.FakeServer()
SEEDED_DELIVERY_ID = asyncio.run(_seed(SERVER))
schema = schemathesis.openapi.from_path(CONTRACT, config=schemathesis.Config.from_dict(CONFIG))
schema.app = _app(SERVER)


@schema.hook
def filter_body(_: HookContext, body: object) -> bool:
    """Skip special-use e-mail domains (``x@y.test``): fine for ``format: email``, refused by the shared
    models (email-validator) because no mail reaches them."""
    email = body.get("to") if isinstance(body, dict) else None
    if not isinstance(email, str):
        return True
    return email.rpartition("@")[2].rpartition(".")[2].lower() not in email_validator.SPECIAL_USE_DOMAIN_NAMES


@schema.parametrize()
def test_mail_api_conforms_to_its_contract(case: schemathesis.Case[Any]) -> None:
    if DELIVERY_ID.fullmatch(str(case.path_parameters.get("delivery_id", ""))):
        case.path_parameters["delivery_id"] = SEEDED_DELIVERY_ID
    case.call_and_validate()


def conforms(path: str, method: str, response: httpx.Response) -> httpx.Response:
    """The status is documented for the operation and the body matches its schema."""
    operation = schema[path][method]
    assert str(response.status_code) in operation.definition.raw["responses"], f"{response.status_code} undocumented"
    operation.validate_response(response)
    return response


async def test_every_outcome_of_a_delivery_conforms(client: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    """The answers random data rarely reaches: acceptance, replay, key reuse, each operator view."""
    create, one = "/v1/deliveries", "/v1/deliveries/{delivery_id}"
    listing, detail = "/v1/operator/deliveries", "/v1/operator/deliveries/{delivery_id}"
    accepted = conforms(create, "POST", await post_delivery(client, "conform-1"))
    assert accepted.status_code == 202
    assert conforms(create, "POST", await post_delivery(client, "conform-1")).status_code == 200
    reused = {**LOGIN_CODE, "locale": "fr"}
    assert conforms(create, "POST", await post_delivery(client, "conform-1", reused)).status_code == 422
    delivery_id = accepted.json()["delivery_id"]
    await until_status(client, delivery_id, "recorded")
    assert conforms(one, "GET", await client.get(f"/v1/deliveries/{delivery_id}")).status_code == 200
    assert conforms(one, "GET", await client.get(f"/v1/deliveries/d_{'0' * 32}")).status_code == 404
    assert conforms(listing, "GET", await client.get(listing, headers=OPERATOR)).status_code == 200
    assert conforms(detail, "GET", await client.get(f"{listing}/{delivery_id}", headers=OPERATOR)).status_code == 200
    assert conforms(listing, "GET", await anonymous.get(listing)).status_code == 401
    assert conforms(listing, "GET", await anonymous.get(listing, headers=SERVICE)).status_code == 403
