"""Each lab double answers like its service: one set of contract checks, run against both.

Every case below runs twice, against the real service (``[real-...]``) and its stub (``[stub-...]``), built
with the factories their programs use: the same request must get the same status, problem ``code`` and
``errors[].field`` from both, and every documented answer must match the OpenAPI contract
(contracts/http). A stub that drifts (a different status, code or field, or a body the contract does not
allow) fails here, in process, before a boundary suite proves the wrong thing against it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp

from galaxy_contracts.http import UserClient
from tests.unit.doubles.helpers import (
    LOGIN_CODE,
    SEED_EMAIL,
    SEED_KEY,
    TOKENS,
    UNKNOWN_DELIVERY,
    UNKNOWN_USER,
    Case,
    Contract,
    Implementation,
)

USER = Contract("user")
MAIL = Contract("mail")
JSON = {"Content-Type": "application/json"}
TOO_BIG = b'{"email": "' + b"a" * 70_000 + b'@example.com"}'
CONTROL_CHAR = "Ada\u0007"

RESOLVE, ACCOUNT = "/v1/accounts/resolve", "/v1/accounts/{user_id}"
BLOCK, UNBLOCK = "/v1/accounts/{user_id}/block", "/v1/accounts/{user_id}/unblock"
KNOWN, UNKNOWN, MALFORMED = "/v1/accounts/{known}", "/v1/accounts/{unknown}", "/v1/accounts/u_NOT-AN-ID"

USER_CASES = [
    # POST /v1/accounts/resolve
    Case("resolve a new e-mail", "POST", RESOLVE, 200, json={"email": "bob@example.com"}, body={"created": True}),
    Case("resolve a known e-mail", "POST", RESOLVE, 200, json={"email": " ADA@Example.com "}, body={"created": False}),
    Case("resolve with a locale", "POST", RESOLVE, 200, json={"email": "eve@example.com", "locale": "fr"}),
    Case(
        "resolve a non-address",
        "POST",
        RESOLVE,
        422,
        code="validation_failed",
        fields=("email",),
        json={"email": "not-an-address"},
    ),
    Case(
        "resolve an unknown locale",
        "POST",
        RESOLVE,
        422,
        code="validation_failed",
        fields=("locale",),
        json={"email": "bob@example.com", "locale": "xx"},
    ),
    Case("resolve without e-mail", "POST", RESOLVE, 422, code="validation_failed", fields=("email",), json={}),
    Case(
        "resolve with an unknown field",
        "POST",
        RESOLVE,
        400,
        code="malformed_body",
        fields=("admin",),
        json={"email": "bob@example.com", "admin": True},
    ),
    Case(
        "resolve with a null locale",
        "POST",
        RESOLVE,
        400,
        code="malformed_body",
        fields=("locale",),
        json={"email": "bob@example.com", "locale": None},
    ),
    Case(
        "resolve with a wrong type", "POST", RESOLVE, 400, code="malformed_body", fields=("email",), json={"email": 42}
    ),
    Case("resolve with broken JSON", "POST", RESOLVE, 400, code="malformed_body", content=b'{"email":', headers=JSON),
    Case("resolve with a JSON array", "POST", RESOLVE, 400, code="malformed_body", content=b"[]", headers=JSON),
    Case(
        "resolve as text",
        "POST",
        RESOLVE,
        415,
        code="unsupported_media_type",
        content=b"email",
        headers={"Content-Type": "text/plain"},
    ),
    Case("resolve too big", "POST", RESOLVE, 413, code="payload_too_large", content=TOO_BIG, headers=JSON),
    Case(
        "resolve without a token",
        "POST",
        RESOLVE,
        401,
        code="unauthorized",
        caller=None,
        json={"email": "bob@example.com"},
    ),
    Case(
        "resolve with a foreign token",
        "POST",
        RESOLVE,
        401,
        code="unauthorized",
        caller="foreign",
        json={"email": "bob@example.com"},
    ),
    Case(
        "resolve with a bad token before a bad body",
        "POST",
        RESOLVE,
        401,
        code="unauthorized",
        caller="foreign",
        content=b"{",
        headers=JSON,
    ),
    # GET /v1/accounts/{user_id}
    Case("get a known account", "GET", ACCOUNT, 200, path=KNOWN, body={"email": SEED_EMAIL, "blocked": False}),
    Case("get an unknown account", "GET", ACCOUNT, 404, code="not_found", path=UNKNOWN),
    Case("get a malformed id", "GET", ACCOUNT, 422, code="validation_failed", fields=("user_id",), path=MALFORMED),
    Case("get without a token", "GET", ACCOUNT, 401, code="unauthorized", path=KNOWN, caller=None),
    Case("get with a foreign token", "GET", ACCOUNT, 401, code="unauthorized", path=KNOWN, caller="foreign"),
    Case("get the resolve path", "GET", ACCOUNT, 405, code="method_not_allowed", path=RESOLVE, contract=False),
    Case(
        "get the resolve path without a token",
        "GET",
        ACCOUNT,
        405,
        code="method_not_allowed",
        path=RESOLVE,
        caller=None,
        contract=False,
    ),
    # PATCH /v1/accounts/{user_id}
    Case(
        "rename",
        "PATCH",
        ACCOUNT,
        200,
        path=KNOWN,
        json={"display_name": "  Ada L.  "},
        body={"display_name": "Ada L."},
    ),
    Case(
        "change locale and one preference",
        "PATCH",
        ACCOUNT,
        200,
        path=KNOWN,
        json={"locale": "de", "notification_preferences": {"push_enabled": False}},
        body={"locale": "de", "notification_preferences": {"email_enabled": True, "push_enabled": False}},
    ),
    Case("change nothing", "PATCH", ACCOUNT, 422, code="validation_failed", fields=("body",), path=KNOWN, json={}),
    Case(
        "change no preference",
        "PATCH",
        ACCOUNT,
        422,
        code="validation_failed",
        fields=("notification_preferences",),
        path=KNOWN,
        json={"notification_preferences": {}},
    ),
    Case(
        "rename to blanks",
        "PATCH",
        ACCOUNT,
        422,
        code="validation_failed",
        fields=("display_name",),
        path=KNOWN,
        json={"display_name": "   "},
    ),
    Case(
        "rename to empty",
        "PATCH",
        ACCOUNT,
        422,
        code="validation_failed",
        fields=("display_name",),
        path=KNOWN,
        json={"display_name": ""},
    ),
    Case(
        "rename with a control character",
        "PATCH",
        ACCOUNT,
        422,
        code="validation_failed",
        fields=("display_name",),
        path=KNOWN,
        json={"display_name": CONTROL_CHAR},
    ),
    Case(
        "rename too long",
        "PATCH",
        ACCOUNT,
        422,
        code="validation_failed",
        fields=("display_name",),
        path=KNOWN,
        json={"display_name": "x" * 65},
    ),
    Case(
        "change to an unknown locale",
        "PATCH",
        ACCOUNT,
        422,
        code="validation_failed",
        fields=("locale",),
        path=KNOWN,
        json={"locale": "xx"},
    ),
    Case(
        "rename to null",
        "PATCH",
        ACCOUNT,
        400,
        code="malformed_body",
        fields=("display_name",),
        path=KNOWN,
        json={"display_name": None},
    ),
    Case(
        "change an unknown field",
        "PATCH",
        ACCOUNT,
        400,
        code="malformed_body",
        fields=("email",),
        path=KNOWN,
        json={"email": "eve@example.com"},
    ),
    Case(
        "a preference as a string",
        "PATCH",
        ACCOUNT,
        400,
        code="malformed_body",
        fields=("notification_preferences.push_enabled",),
        path=KNOWN,
        json={"notification_preferences": {"push_enabled": "false"}},
    ),
    Case(
        "rename an unknown account", "PATCH", ACCOUNT, 404, code="not_found", path=UNKNOWN, json={"display_name": "Ada"}
    ),
    Case(
        "an invalid change of an unknown account",
        "PATCH",
        ACCOUNT,
        422,
        code="validation_failed",
        fields=("display_name",),
        path=UNKNOWN,
        json={"display_name": "  "},
    ),
    Case(
        "rename a malformed id",
        "PATCH",
        ACCOUNT,
        422,
        code="validation_failed",
        fields=("user_id",),
        path=MALFORMED,
        json={"display_name": "Ada"},
    ),
    Case(
        "broken JSON for a malformed id",
        "PATCH",
        ACCOUNT,
        400,
        code="malformed_body",
        path=MALFORMED,
        content=b"{",
        headers=JSON,
    ),
    Case(
        "rename without a token",
        "PATCH",
        ACCOUNT,
        401,
        code="unauthorized",
        path=KNOWN,
        caller=None,
        json={"display_name": "Ada"},
    ),
    Case(
        "patch the resolve path",
        "PATCH",
        ACCOUNT,
        405,
        code="method_not_allowed",
        path=RESOLVE,
        json={"display_name": "Ada"},
        contract=False,
    ),
    Case("delete an account", "DELETE", ACCOUNT, 405, code="method_not_allowed", path=KNOWN, contract=False),
    # POST /v1/accounts/{user_id}/block, /unblock
    Case("block", "POST", BLOCK, 200, path=KNOWN + "/block", json={"reason": "abuse"}, body={"blocked": True}),
    Case(
        "block with a blank reason",
        "POST",
        BLOCK,
        422,
        code="validation_failed",
        fields=("reason",),
        path=KNOWN + "/block",
        json={"reason": "   "},
    ),
    Case(
        "block with a control character",
        "POST",
        BLOCK,
        422,
        code="validation_failed",
        fields=("reason",),
        path=KNOWN + "/block",
        json={"reason": "abuse\u0000"},
    ),
    Case(
        "block with an empty reason",
        "POST",
        BLOCK,
        422,
        code="validation_failed",
        fields=("reason",),
        path=KNOWN + "/block",
        json={"reason": ""},
    ),
    Case(
        "block with a too long reason",
        "POST",
        BLOCK,
        422,
        code="validation_failed",
        fields=("reason",),
        path=KNOWN + "/block",
        json={"reason": "x" * 201},
    ),
    Case(
        "block without a reason",
        "POST",
        BLOCK,
        422,
        code="validation_failed",
        fields=("reason",),
        path=KNOWN + "/block",
        json={},
    ),
    Case(
        "block an unknown account",
        "POST",
        BLOCK,
        404,
        code="not_found",
        path=UNKNOWN + "/block",
        json={"reason": "abuse"},
    ),
    Case(
        "block an unknown account for no reason",
        "POST",
        BLOCK,
        422,
        code="validation_failed",
        fields=("reason",),
        path=UNKNOWN + "/block",
        json={"reason": " "},
    ),
    Case(
        "block a malformed id",
        "POST",
        BLOCK,
        422,
        code="validation_failed",
        fields=("user_id",),
        path=MALFORMED + "/block",
        json={"reason": "abuse"},
    ),
    Case(
        "block without a token",
        "POST",
        BLOCK,
        401,
        code="unauthorized",
        path=KNOWN + "/block",
        caller=None,
        json={"reason": "abuse"},
    ),
    Case("unblock", "POST", UNBLOCK, 200, path=KNOWN + "/unblock", body={"blocked": False}),
    Case("unblock an unknown account", "POST", UNBLOCK, 404, code="not_found", path=UNKNOWN + "/unblock"),
    Case(
        "unblock a malformed id",
        "POST",
        UNBLOCK,
        422,
        code="validation_failed",
        fields=("user_id",),
        path=MALFORMED + "/unblock",
    ),
    Case("unblock without a token", "POST", UNBLOCK, 401, code="unauthorized", path=KNOWN + "/unblock", caller=None),
]

DELIVERIES, DELIVERY = "/v1/deliveries", "/v1/deliveries/{delivery_id}"
OPERATOR_LIST, OPERATOR_ONE = "/v1/operator/deliveries", "/v1/operator/deliveries/{delivery_id}"
KEY = {"Idempotency-Key": "parity-key-0001"}
SEEDED = {"Idempotency-Key": SEED_KEY}
KNOWN_DELIVERY, UNKNOWN_ONE, MALFORMED_ONE = "/{known}", "/{unknown}", "/d_NOT-AN-ID"


def _send(name: str, status: int, request: Any = LOGIN_CODE, headers: dict[str, str] = KEY, **expect: Any) -> Case:
    return Case(name, "POST", DELIVERIES, status, json=request, headers=headers, **expect)


def _listing(name: str, query: str, status: int = 200, **expect: Any) -> Case:
    caller = expect.pop("caller", "operator")
    return Case(name, "GET", OPERATOR_LIST, status, path=OPERATOR_LIST + query, caller=caller, **expect)


MAIL_CASES = [
    # POST /v1/deliveries
    _send("send", 202, LOGIN_CODE | {"to": "bob@example.com"}, body={"to": "bob@example.com"}),
    _send("send a catalog template", 202, {"to": "bob@example.com", "template": "account.welcome", "params": {}}),
    _send("replay the same request", 200, headers=SEEDED, body={"to": SEED_EMAIL}),
    _send("replay with the address in another case", 200, LOGIN_CODE | {"to": "ADA@example.com"}, headers=SEEDED),
    _send(
        "reuse a key for another request",
        422,
        LOGIN_CODE | {"locale": "fr"},
        headers=SEEDED,
        code="idempotency_key_reused",
    ),
    _send(
        "reuse a key for other params",
        422,
        LOGIN_CODE | {"params": {"code": "654321", "expires_in_minutes": 10}},
        headers=SEEDED,
        code="idempotency_key_reused",
    ),
    _send("the same key from another caller", 202, headers=SEEDED, caller="gateway"),
    _send(
        "an unknown template",
        422,
        LOGIN_CODE | {"template": "no.such_template"},
        code="validation_failed",
        fields=("template",),
    ),
    _send(
        "a template without its params",
        422,
        LOGIN_CODE | {"params": {}},
        code="validation_failed",
        fields=("params.code", "params.expires_in_minutes"),
    ),
    _send(
        "a template missing one param",
        422,
        LOGIN_CODE | {"params": {"code": "1"}},
        code="validation_failed",
        fields=("params.expires_in_minutes",),
    ),
    _send("without an idempotency key", 422, headers={}, code="validation_failed", fields=("Idempotency-Key",)),
    _send(
        "a short idempotency key",
        422,
        headers={"Idempotency-Key": "short"},
        code="validation_failed",
        fields=("Idempotency-Key",),
    ),
    _send(
        "an idempotency key with a space",
        422,
        headers={"Idempotency-Key": "has a space"},
        code="validation_failed",
        fields=("Idempotency-Key",),
    ),
    _send(
        "the key is checked before the body",
        422,
        {"cc": "x"},
        headers={},
        code="validation_failed",
        fields=("Idempotency-Key",),
    ),
    _send("a non-address", 422, LOGIN_CODE | {"to": "nobody"}, code="validation_failed", fields=("to",)),
    _send(
        "a template name off the pattern",
        422,
        LOGIN_CODE | {"template": "NoDots"},
        code="validation_failed",
        fields=("template",),
    ),
    _send("an unknown locale", 422, LOGIN_CODE | {"locale": "xx"}, code="validation_failed", fields=("locale",)),
    _send(
        "too many params",
        422,
        LOGIN_CODE | {"params": {f"p{i}": i for i in range(33)}},
        code="validation_failed",
        fields=("params",),
    ),
    _send("an unknown field", 400, LOGIN_CODE | {"cc": "eve@example.com"}, code="malformed_body", fields=("cc",)),
    _send("null params", 400, LOGIN_CODE | {"params": None}, code="malformed_body", fields=("params",)),
    _send("params as a list", 400, LOGIN_CODE | {"params": []}, code="malformed_body", fields=("params",)),
    Case("broken JSON", "POST", DELIVERIES, 400, code="malformed_body", content=b"{", headers=KEY | JSON),
    Case(
        "as text",
        "POST",
        DELIVERIES,
        415,
        code="unsupported_media_type",
        content=b"x",
        headers=KEY | {"Content-Type": "text/plain"},
    ),
    Case(
        "too big",
        "POST",
        DELIVERIES,
        413,
        code="payload_too_large",
        content=b"{" + b" " * 70_000 + b"}",
        headers=KEY | JSON,
    ),
    _send("without a token", 401, caller=None, code="unauthorized"),
    _send("with a foreign token", 401, caller="foreign", code="unauthorized"),
    _send("with the operator token", 401, caller="operator", code="unauthorized"),
    _send("the token is checked before the key", 401, headers={}, caller=None, code="unauthorized"),
    # GET /v1/deliveries/{delivery_id}
    Case("get a delivery", "GET", DELIVERY, 200, path=DELIVERIES + KNOWN_DELIVERY, body={"to": SEED_EMAIL}),
    Case("get an unknown delivery", "GET", DELIVERY, 404, code="not_found", path=DELIVERIES + UNKNOWN_ONE),
    Case(
        "get a malformed id",
        "GET",
        DELIVERY,
        422,
        code="validation_failed",
        fields=("delivery_id",),
        path=DELIVERIES + MALFORMED_ONE,
    ),
    Case(
        "get without a token", "GET", DELIVERY, 401, code="unauthorized", path=DELIVERIES + KNOWN_DELIVERY, caller=None
    ),
    Case(
        "get with the operator token",
        "GET",
        DELIVERY,
        401,
        code="unauthorized",
        path=DELIVERIES + KNOWN_DELIVERY,
        caller="operator",
    ),
    Case(
        "delete a delivery",
        "DELETE",
        DELIVERY,
        405,
        code="method_not_allowed",
        path=DELIVERIES + KNOWN_DELIVERY,
        contract=False,
    ),
    # GET /v1/operator/deliveries
    _listing("list", "", count=1, body={}),
    _listing("list by address, any case", f"?to={SEED_EMAIL.upper()}", count=1),
    _listing("list by another address", "?to=bob@example.com", count=0),
    _listing("list by template", "?template=auth.login_code", count=1),
    _listing("list by another template", "?template=account.welcome", count=0),
    _listing("list by status", "?status=recorded", count=1),
    _listing("list by another status", "?status=failed", count=0),
    _listing("list with every filter", f"?to={SEED_EMAIL}&template=auth.login_code&status=recorded&limit=5", count=1),
    _listing("list with an unknown parameter", "?colour=blue", count=1),
    _listing("list by a non-address", "?to=nobody", 422, code="validation_failed", fields=("to",)),
    _listing("list by an unknown status", "?status=lost", 422, code="validation_failed", fields=("status",)),
    _listing("list with limit 0", "?limit=0", 422, code="validation_failed", fields=("limit",)),
    _listing("list with limit 201", "?limit=201", 422, code="validation_failed", fields=("limit",)),
    _listing("list with a non-number limit", "?limit=ten", 422, code="validation_failed", fields=("limit",)),
    _listing(
        "list with a filter twice", "?template=a.b&template=c.d", 422, code="validation_failed", fields=("template",)
    ),
    _listing("list without a token", "", 401, code="unauthorized", caller=None),
    _listing("list with a service token", "", 403, code="forbidden", caller="authsession"),
    _listing("list with the lab token", "", 403, code="forbidden", caller="lab"),
    _listing("list with a foreign token", "", 403, code="forbidden", caller="foreign"),
    _listing("the credential is checked before the filters", "?limit=0", 401, code="unauthorized", caller=None),
    # GET /v1/operator/deliveries/{delivery_id}
    Case(
        "view a delivery",
        "GET",
        OPERATOR_ONE,
        200,
        path=OPERATOR_LIST + KNOWN_DELIVERY,
        caller="operator",
        body={"status": "recorded", "attempts": 1, "source": "http", "locale": "en"},
    ),
    Case(
        "view an unknown delivery",
        "GET",
        OPERATOR_ONE,
        404,
        code="not_found",
        path=OPERATOR_LIST + UNKNOWN_ONE,
        caller="operator",
    ),
    Case(
        "view a malformed id",
        "GET",
        OPERATOR_ONE,
        422,
        code="validation_failed",
        fields=("delivery_id",),
        path=OPERATOR_LIST + MALFORMED_ONE,
        caller="operator",
    ),
    Case(
        "view without a token",
        "GET",
        OPERATOR_ONE,
        401,
        code="unauthorized",
        path=OPERATOR_LIST + KNOWN_DELIVERY,
        caller=None,
    ),
    Case(
        "view with a service token",
        "GET",
        OPERATOR_ONE,
        403,
        code="forbidden",
        path=OPERATOR_LIST + KNOWN_DELIVERY,
        caller="notification",
    ),
    Case(
        "the credential is checked before the id",
        "GET",
        OPERATOR_ONE,
        403,
        code="forbidden",
        path=OPERATOR_LIST + MALFORMED_ONE,
        caller="lab",
    ),
]


def _ids(cases: list[Case]) -> list[Any]:
    return [pytest.param(case, id=case.name.replace(",", "").replace(" ", "-")) for case in cases]


@pytest.mark.parametrize("case", _ids(USER_CASES))
async def test_user_service_and_its_stub_answer_alike(user: Implementation, case: Case) -> None:
    response = await case.send(user, UNKNOWN_USER)

    case.check(response)
    if case.contract:
        USER.conforms(case, response)


@pytest.mark.parametrize("case", _ids(MAIL_CASES))
async def test_mail_service_and_its_stub_answer_alike(mail: Implementation, case: Case) -> None:
    response = await case.send(mail, UNKNOWN_DELIVERY)

    case.check(response)
    if case.contract:
        MAIL.conforms(case, response)


@pytest.mark.parametrize(("contract", "cases"), [(USER, USER_CASES), (MAIL, MAIL_CASES)], ids=["user", "mail"])
def test_every_contract_operation_is_checked_for_success_and_refusal(contract: Contract, cases: list[Case]) -> None:
    succeeding = {(c.method, c.operation) for c in cases if c.status < 400}
    refusing = {(c.method, c.operation) for c in cases if c.status >= 400 and c.contract}

    assert contract.operations() <= succeeding
    assert contract.operations() <= refusing


async def test_a_replay_answers_the_delivery_as_it_was_accepted(mail: Implementation) -> None:
    replay = await mail.call("POST", DELIVERIES, json=LOGIN_CODE, headers=SEEDED)

    assert replay.status_code == 200
    assert replay.json()["delivery_id"] == mail.known


async def test_user_surface_is_the_contract_and_the_rest_is_lab_control(user: Implementation) -> None:
    assert_surface(user, USER)


async def test_mail_surface_is_the_contract_and_the_rest_is_lab_control(mail: Implementation) -> None:
    assert_surface(mail, MAIL)


def assert_surface(target: Implementation, contract: Contract) -> None:
    """Outside ``/_control/`` (a stub's lab control, never a contract route) each implementation serves exactly
    its contract's operations; the service serves nothing else."""
    served = {(m, r.path) for r in _routes(target.app) for m in r.methods or () if m != "HEAD"}
    contract_routes = {(m, p) for m, p in served if not p.startswith("/_control/")}

    assert contract_routes == contract.operations()
    if target.name == "real":
        assert contract_routes == served


def _routes(app: ASGIApp) -> list[Route]:
    """The routes of the Starlette app under any middleware wrappers (the stub's interceptor, metrics)."""
    while not isinstance(app, Starlette):
        app = app.app  # type: ignore[attr-defined]
    return [route for route in app.routes if isinstance(route, Route)]


async def test_a_request_one_accepts_the_other_accepts(user: Implementation) -> None:
    """The typed contract client (what authsession, the gateway and notification use) works against both."""
    transport = httpx.ASGITransport(app=user.app)
    async with UserClient("http://parity", TOKENS["authsession"], transport=transport) as client:
        account = await client.get(user.known)

    assert account.email == SEED_EMAIL
