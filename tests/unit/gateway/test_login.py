"""StartLogin / ConfirmLogin through the gateway to authsession: happy paths and every error mapping."""

from __future__ import annotations

import time

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2

from galaxy.gateway.domain.errors import TOO_MANY_LOGINS
from galaxy_contracts.gateway import pb
from tests.harness.rpc import error_info, failure, field_violations
from tests.unit.gateway.fakes import CODE, problem
from tests.unit.gateway.helpers import GATEWAY_TOKEN, Lab


async def start(lab: Lab, email: str = "ada@example.com", locale: str = "") -> pb.StartLoginResponse:
    return await lab.stub.StartLogin(pb.StartLoginRequest(email=email, locale=locale), timeout=5)


async def test_start_login_returns_the_challenge_and_calls_authsession_with_the_service_token(lab: Lab) -> None:
    response = await start(lab, "ada@example.com", "de")

    assert response.challenge_id in lab.authsession.challenges
    assert response.expires_at.seconds > time.time()
    [call] = lab.authsession.requests
    assert (call.method, call.path) == ("POST", "/v1/challenges")
    assert call.body == {"email": "ada@example.com", "locale": "de"}
    assert call.authorization == f"Bearer {GATEWAY_TOKEN}"


async def test_start_login_without_locale_sends_none(lab: Lab) -> None:
    await start(lab)

    assert lab.authsession.requests[0].body == {"email": "ada@example.com"}


@pytest.mark.parametrize(
    ("email", "locale", "field"),
    [("", "", "email"), ("not-an-email", "", "email"), ("ada@example.com", "xx", "locale")],
)
async def test_start_login_malformed_input_is_invalid_argument_naming_the_field(
    lab: Lab, email: str, locale: str, field: str
) -> None:
    error = await failure(start(lab, email, locale))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in error.details()
    assert list(field_violations(error)) == [field]
    assert lab.authsession.requests == []


async def test_start_login_downstream_validation_errors_become_field_violations(lab: Lab) -> None:
    lab.authsession.override = problem(
        422, "validation_failed", "invalid", errors=[{"field": "email", "message": "domain does not accept mail"}]
    )

    error = await failure(start(lab))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == {"email": "domain does not accept mail"}


async def test_confirm_login_returns_a_session_token_that_authenticates(lab: Lab) -> None:
    challenge = await start(lab, "new@example.com")

    session = await lab.stub.ConfirmLogin(pb.ConfirmLoginRequest(challenge_id=challenge.challenge_id, code=CODE))

    assert session.new_account
    assert session.user_id.startswith("u_")
    assert session.session_id.startswith("s_")
    assert session.expires_at.seconds > time.time()
    metadata = (("authorization", f"Bearer {session.session_token}"),)
    account = await lab.stub.GetMyAccount(pb.GetMyAccountRequest(), metadata=metadata, timeout=5)
    assert account.email == "new@example.com"


async def test_wrong_code_is_unauthenticated_with_the_remaining_attempts(lab: Lab) -> None:
    challenge = await start(lab)

    error = await failure(
        lab.stub.ConfirmLogin(pb.ConfirmLoginRequest(challenge_id=challenge.challenge_id, code="000000"))
    )

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "4 attempt(s) remaining" in error.details()
    assert _info(error).metadata["remaining_attempts"] == "4"


@pytest.mark.parametrize(
    "extra",
    [{}, {"remaining_attempts": -1}],
    ids=["absent", "negative"],
)
async def test_the_detail_text_is_never_parsed_for_remaining_attempts(lab: Lab, extra: dict[str, int]) -> None:
    lab.authsession.override = problem(401, "invalid_code", "wrong code; 2 attempt(s) remaining", **extra)

    error = await failure(lab.stub.ConfirmLogin(pb.ConfirmLoginRequest(challenge_id="c_" + "a" * 32, code="000000")))

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error.details() == "wrong login code"
    assert error_info(error) is None


async def test_too_many_wrong_codes_is_resource_exhausted(lab: Lab) -> None:
    challenge = await start(lab)
    request = pb.ConfirmLoginRequest(challenge_id=challenge.challenge_id, code="000000")
    for _ in range(4):
        assert (await failure(lab.stub.ConfirmLogin(request))).code() == grpc.StatusCode.UNAUTHENTICATED

    error = await failure(lab.stub.ConfirmLogin(request))

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "start a new login" in error.details()


async def test_too_many_logins_for_one_e_mail_is_resource_exhausted_saying_so(lab: Lab) -> None:
    lab.authsession.override = problem(429, "too_many_challenges", "too many login challenges; retry in 512s")

    error = await failure(start(lab))

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.details() == TOO_MANY_LOGINS


@pytest.mark.parametrize("used", [False, True], ids=["unknown", "already-used"])
async def test_unknown_or_used_challenge_is_not_found(lab: Lab, used: bool) -> None:
    challenge_id = (await start(lab)).challenge_id if used else "c_" + "0" * 32
    if used:
        await lab.stub.ConfirmLogin(pb.ConfirmLoginRequest(challenge_id=challenge_id, code=CODE))

    error = await failure(lab.stub.ConfirmLogin(pb.ConfirmLoginRequest(challenge_id=challenge_id, code=CODE)))

    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "challenge" in error.details()


async def test_blocked_account_is_permission_denied(lab: Lab) -> None:
    lab.authsession.blocked.add("blocked@example.com")
    challenge = await start(lab, "blocked@example.com")

    error = await failure(lab.stub.ConfirmLogin(pb.ConfirmLoginRequest(challenge_id=challenge.challenge_id, code=CODE)))

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "blocked" in error.details()


async def test_malformed_confirm_names_both_fields_without_calling_authsession(lab: Lab) -> None:
    error = await failure(lab.stub.ConfirmLogin(pb.ConfirmLoginRequest(challenge_id="nope", code="12ab")))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set(field_violations(error)) == {"challenge_id", "code"}
    assert lab.authsession.requests == []


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (httpx.ConnectError("connection refused"), "ConnectError"),
        (problem(503, "upstream_unavailable", "user service down"), "user service down"),
        (httpx.Response(500, text="boom"), "HTTP 500"),
        (problem(401, "unauthorized", "service token not accepted"), "service credential"),
    ],
    ids=["down", "503", "500", "credential-refused"],
)
async def test_authsession_failures_are_unavailable_naming_authsession(
    lab: Lab, fault: httpx.Response | Exception, reason: str
) -> None:
    lab.authsession.override = fault

    error = await failure(start(lab))

    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert error.details().startswith("authsession unavailable")
    assert reason in error.details()
    assert _info(error).metadata["service"] == "authsession"


async def test_authsession_503_names_its_own_cause(lab: Lab) -> None:
    """authsession is up but its User Service is not: the client is told what is really down."""
    detail = "user service unavailable: ConnectError"
    lab.authsession.override = problem(503, "upstream_unavailable", detail)

    error = await failure(lab.stub.ConfirmLogin(pb.ConfirmLoginRequest(challenge_id="c_" + "a" * 32, code=CODE)))

    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert error.details() == f"authsession unavailable: {detail}"


async def test_a_503_without_detail_names_its_problem_code(lab: Lab) -> None:
    lab.authsession.override = httpx.Response(
        503,
        json={"type": "about:blank", "title": "Service Unavailable", "status": 503, "code": "upstream_unavailable"},
    )

    error = await failure(start(lab))

    assert error.details() == "authsession unavailable: upstream_unavailable"


async def test_authsession_answering_outside_its_contract_is_unavailable(lab: Lab) -> None:
    lab.authsession.override = httpx.Response(201, json={"unexpected": True})

    error = await failure(start(lab))

    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "outside its contract" in error.details()


@pytest.mark.parametrize("gateway_options", [{"downstream_timeout_seconds": 0.3}])
async def test_a_hanging_authsession_is_unavailable_after_the_downstream_timeout(lab: Lab) -> None:
    lab.authsession.hang = True
    started = time.monotonic()

    error = await failure(lab.stub.StartLogin(pb.StartLoginRequest(email="ada@example.com"), timeout=5))

    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert error.details() == "authsession unavailable: no answer within 0.30s"
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("gateway_options", [{"downstream_timeout_seconds": 30}])
async def test_the_callers_shorter_deadline_bounds_the_downstream_call(lab: Lab) -> None:
    """UNAVAILABLE naming the service arrives before the caller's own deadline (not DEADLINE_EXCEEDED)."""
    lab.authsession.hang = True
    started = time.monotonic()

    error = await failure(lab.stub.StartLogin(pb.StartLoginRequest(email="ada@example.com"), timeout=1.0))

    assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()
    assert "authsession unavailable" in error.details()
    assert time.monotonic() - started < 1.0


def _info(error: grpc.aio.AioRpcError) -> error_details_pb2.ErrorInfo:
    info = error_info(error)
    assert info is not None, f"no google.rpc.ErrorInfo detail in {error.code().name}: {error.details()}"
    return info
