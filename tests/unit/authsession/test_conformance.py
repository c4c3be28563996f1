"""Bounded schemathesis run of the ASGI app against contracts/http/authsession.openapi.yaml."""

from __future__ import annotations

import tempfile
from pathlib import Path

import email_validator
import fakeredis
import httpx
import schemathesis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, settings
from schemathesis.hooks import HookContext
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from galaxy.authsession.main import create_app
from galaxy_contracts import SPEC_DIR
from tests.unit.authsession.fakes import FakeMailService, FakeUserService
from tests.unit.authsession.helpers import SERVICE_TOKENS, Login, write_settings, wrong

AUTH = {"Authorization": f"Bearer {SERVICE_TOKENS['gateway']}"}


def _app() -> Starlette:
    # Secrets are read by create_app, so the directory may go right after.
    with tempfile.TemporaryDirectory() as directory:
        return create_app(
            write_settings(Path(directory), Ed25519PrivateKey.generate()),
            fakeredis.FakeAsyncRedis(decode_responses=True),
            user_transport=FakeUserService().transport(),
            mail_transport=FakeMailService().transport(),
        )


class AppPerLifespan:
    """A new app for each lifespan: an app's lifespan closes its clients for good (as a process ends), and
    schemathesis ends the lifespan after every test, then starts it again for the next one."""

    def __init__(self) -> None:
        self._app = _app()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            self._app = _app()
        await self._app(scope, receive, send)


# schemathesis runs the app (and its lifespan) in its own event loop thread.
schema = schemathesis.openapi.from_path(SPEC_DIR / "http" / "authsession.openapi.yaml")
schema.app = AppPerLifespan()


@schema.hook
def filter_body(_: HookContext, body: object) -> bool:
    """Skip e-mails under special-use names (``x@y.test``): syntactically fine for ``format: email``, but
    the shared models (email-validator) refuse them because no mail can reach them; the service means to."""
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str):
        return True
    top_label = email.rpartition("@")[2].rpartition(".")[2].lower()
    return top_label not in email_validator.SPECIAL_USE_DOMAIN_NAMES


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_responses_conform_to_the_contract(case: schemathesis.Case) -> None:
    case.call_and_validate(base_url="http://testserver", headers=AUTH)


def conforms(path: str, method: str, response: httpx.Response) -> httpx.Response:
    """The status is documented for the operation and the body matches its schema."""
    operation = schema[path][method]
    assert str(response.status_code) in operation.definition.raw["responses"], f"{response.status_code} undocumented"
    operation.validate_response(response)
    return response


async def test_every_outcome_of_a_login_conforms(
    login: Login, client: httpx.AsyncClient, anonymous: httpx.AsyncClient, users: FakeUserService
) -> None:
    """The answers random data rarely reaches: success bodies and each refusal of a real challenge."""
    confirm = "/v1/challenges/{challenge_id}/confirm"
    started = conforms("/v1/challenges", "POST", await client.post("/v1/challenges", json={"email": "a@example.com"}))
    challenge_id, code = started.json()["challenge_id"], login.mail.last_code()
    assert conforms(confirm, "POST", await login.confirm(challenge_id, wrong(code))).status_code == 401
    users.down = True
    assert conforms(confirm, "POST", await login.confirm(challenge_id, code)).status_code == 503
    users.down = False
    opened = conforms(confirm, "POST", await login.confirm(challenge_id, code))
    assert opened.status_code == 200
    session_id = opened.json()["session_id"]
    assert conforms(confirm, "POST", await login.confirm(challenge_id, code)).status_code == 404
    path = "/v1/sessions/{session_id}"
    assert conforms(path, "GET", await client.get(f"/v1/sessions/{session_id}")).status_code == 200
    revoke = await client.post(f"/v1/sessions/{session_id}/revoke")
    assert conforms("/v1/sessions/{session_id}/revoke", "POST", revoke).status_code == 204
    assert conforms(path, "GET", await client.get(f"/v1/sessions/{session_id}")).status_code == 404
    assert conforms("/v1/keys", "GET", await anonymous.get("/v1/keys")).status_code == 200


async def test_spent_and_blocked_refusals_conform(login: Login, users: FakeUserService) -> None:
    confirm = "/v1/challenges/{challenge_id}/confirm"
    challenge_id, code = await login.start()
    for _ in range(5):
        await login.confirm(challenge_id, wrong(code))
    assert conforms(confirm, "POST", await login.confirm(challenge_id, code)).status_code == 429
    users.seed("eve@example.com")
    users.blocked.add("eve@example.com")
    challenge_id, code = await login.start("eve@example.com")
    assert conforms(confirm, "POST", await login.confirm(challenge_id, code)).status_code == 403


async def test_the_start_limit_refusal_conforms(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        await client.post("/v1/challenges", json={"email": "eve@example.com"})

    refused = await client.post("/v1/challenges", json={"email": "eve@example.com"})

    assert conforms("/v1/challenges", "POST", refused).status_code == 429
