"""Authenticated RPCs: the token verified locally, the session checked in Redis on every call."""

from __future__ import annotations

import logging
import time
from typing import Any

import grpc
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from galaxy_contracts import redis_keys
from galaxy_contracts.gateway import bearer, pb
from tests.harness.rpc import failure
from tests.unit.gateway.helpers import GATEWAY_TOKEN, Lab


async def get_account(lab: Lab, metadata: Any) -> pb.Account:
    return await lab.stub.GetMyAccount(pb.GetMyAccountRequest(), metadata=metadata, timeout=5)


async def test_a_valid_token_of_an_active_session_reaches_its_account(lab: Lab) -> None:
    session = await lab.login("ada@example.com")

    account = await get_account(lab, bearer(session["session_token"]))

    assert (account.user_id, account.email) == (session["user_id"], "ada@example.com")
    assert [r.path for r in lab.users.requests] == [f"/v1/accounts/{session['user_id']}"]


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda lab, s: lab.token(s["user_id"], s["session_id"], key=Ed25519PrivateKey.generate()), "signature"),
        (lambda lab, s: lab.token(s["user_id"], s["session_id"], now=time.time() - 7200), "expired"),
        (lambda lab, s: lab.token(s["user_id"], s["session_id"], audience="someone-else"), "audience"),
        (lambda lab, s: lab.token(s["user_id"], s["session_id"], kid="k-unknown"), "unknown signing key"),
        (lambda lab, s: "not.a.jwt", "malformed"),
        (lambda lab, s: s["session_token"][:-4] + "AAAA", "signature"),
    ],
    ids=["forged", "expired", "wrong-audience", "unknown-kid", "garbage", "tampered"],
)
async def test_bad_tokens_are_unauthenticated_with_a_clear_message(lab: Lab, make_token: Any, reason: str) -> None:
    session = await lab.login()
    token = make_token(lab, session)

    error = await failure(get_account(lab, bearer(token)))

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason in error.details()
    assert token not in error.details()
    assert lab.users.requests == []


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [((), "missing session token"), ((("authorization", "Basic abc"),), "malformed authorization")],
    ids=["missing", "not-bearer"],
)
async def test_missing_or_non_bearer_metadata_is_unauthenticated(lab: Lab, metadata: Any, reason: str) -> None:
    error = await failure(get_account(lab, metadata))

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert reason in error.details()
    assert "Bearer" in error.details()


async def test_a_revoked_session_is_refused_on_the_very_next_call(lab: Lab) -> None:
    session = await lab.login()
    await get_account(lab, bearer(session["session_token"]))
    await lab.redis.delete(redis_keys.session(session["session_id"]))

    error = await failure(get_account(lab, bearer(session["session_token"])))

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "revoked" in error.details()


async def test_a_session_belonging_to_another_user_is_refused(lab: Lab) -> None:
    ada, bob = await lab.login("ada@example.com"), await lab.login("bob@example.com")
    borrowed = lab.token(ada["user_id"], bob["session_id"])  # validly signed, but bob's session

    error = await failure(get_account(lab, bearer(borrowed)))

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_logout_revokes_through_authsession_and_the_token_is_refused_at_once(lab: Lab) -> None:
    session = await lab.login()
    token = session["session_token"]

    await lab.stub.Logout(pb.LogoutRequest(), metadata=bearer(token), timeout=5)

    assert lab.authsession.requests[-1].path == f"/v1/sessions/{session['session_id']}/revoke"
    error = await failure(get_account(lab, bearer(token)))
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    again = await failure(lab.stub.Logout(pb.LogoutRequest(), metadata=bearer(token), timeout=5))
    assert again.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_logout_without_a_token_calls_nothing(lab: Lab) -> None:
    error = await failure(lab.stub.Logout(pb.LogoutRequest(), timeout=5))

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert lab.authsession.requests == []


async def test_each_token_only_reaches_its_own_account(lab: Lab) -> None:
    ada, bob = await lab.login("ada@example.com"), await lab.login("bob@example.com")

    as_ada = await get_account(lab, bearer(ada["session_token"]))
    as_bob = await get_account(lab, bearer(bob["session_token"]))

    assert (as_ada.email, as_bob.email) == ("ada@example.com", "bob@example.com")


async def test_the_user_id_in_an_update_request_is_ignored(lab: Lab) -> None:
    ada, bob = await lab.login("ada@example.com"), await lab.login("bob@example.com")
    request = pb.UpdateMyAccountRequest(account=pb.Account(user_id=ada["user_id"], display_name="Mallory"))
    request.update_mask.paths.append("display_name")

    updated = await lab.stub.UpdateMyAccount(request, metadata=bearer(bob["session_token"]), timeout=5)

    assert (updated.user_id, updated.display_name) == (bob["user_id"], "Mallory")
    assert lab.users.accounts[ada["user_id"]]["display_name"] == "Ada"
    assert lab.users.requests[-1].path == f"/v1/accounts/{bob['user_id']}"


async def test_redis_down_during_the_session_check_is_unavailable(lab: Lab) -> None:
    session = await lab.login()
    lab.server.connected = False

    error = await failure(get_account(lab, bearer(session["session_token"])))

    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert "session store" in error.details()


async def test_no_token_or_key_reaches_the_log(lab: Lab, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    session = await lab.login()
    token = session["session_token"]
    await get_account(lab, bearer(token))
    await failure(get_account(lab, bearer(token + "x")))
    lab.users.override = httpx.ConnectError("refused")
    await failure(get_account(lab, bearer(token)))
    await lab.stub.Logout(pb.LogoutRequest(), metadata=bearer(token), timeout=5)

    logged = caplog.text + " ".join(str(r.__dict__) for r in caplog.records)
    assert "user unavailable" in logged or "ConnectError" in logged
    for secret in (token, token.split(".")[2], GATEWAY_TOKEN):
        assert secret not in logged
