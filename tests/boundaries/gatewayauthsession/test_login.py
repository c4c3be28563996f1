"""The public login flow: StartLogin, the e-mailed code, ConfirmLogin, and a token the gateway accepts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from galaxy_contracts import tokens
from galaxy_contracts.gateway import GatewayClient, pb
from galaxy_contracts.models import CHALLENGE_ID_PATTERN, SESSION_ID_PATTERN, USER_ID_PATTERN
from tests.harness import secrets as lab_secrets
from tests.harness.keys import unique_email
from tests.harness.login import log_in, start_login
from tests.harness.login_codes import MailStubCodes
from tests.harness.rpc import failure, field_violations, names_field

CLOCK_SLACK = timedelta(seconds=5)


async def test_token_from_login_is_accepted_on_get_my_account(
    gateway: GatewayClient, codes: MailStubCodes, email: str
) -> None:
    session = await log_in(gateway, codes, email)

    account = await gateway.get_my_account(session.session_token)

    assert (account.user_id, account.email) == (session.user_id, email)


async def test_confirm_answers_a_well_formed_session(gateway: GatewayClient, codes: MailStubCodes, email: str) -> None:
    session = await log_in(gateway, codes, email)

    assert re.fullmatch(SESSION_ID_PATTERN, session.session_id), session.session_id
    assert re.fullmatch(USER_ID_PATTERN, session.user_id), session.user_id
    assert session.expires_at.ToDatetime(tzinfo=UTC) > datetime.now(UTC)


async def test_session_token_carries_the_session_as_documented(
    gateway: GatewayClient, codes: MailStubCodes, email: str, secrets: lab_secrets.LabSecrets, audience: str
) -> None:
    session = await log_in(gateway, codes, email)

    claims = tokens.verify(session.session_token, tokens.public_keys_from_pem(secrets.token_keys), audience)

    assert (claims.user_id, claims.session_id) == (session.user_id, session.session_id)


def answer_shape(answer: pb.StartLoginResponse) -> tuple[frozenset[str], bool]:
    fields = frozenset(descriptor.name for descriptor, _ in answer.ListFields())
    return fields, re.fullmatch(CHALLENGE_ID_PATTERN, answer.challenge_id) is not None


async def test_start_login_answers_alike_for_fresh_and_known_email(
    gateway: GatewayClient, codes: MailStubCodes, email: str
) -> None:
    await log_in(gateway, codes, email)  # now a known e-mail

    known = await gateway.start_login(email)
    fresh = await gateway.start_login(unique_email("fresh"))

    assert answer_shape(known) == answer_shape(fresh) == (frozenset({"challenge_id", "expires_at"}), True)


async def test_start_login_gives_fresh_and_known_email_the_same_expiry(
    gateway: GatewayClient, codes: MailStubCodes, email: str
) -> None:
    await log_in(gateway, codes, email)

    known = (await gateway.start_login(email)).expires_at.ToDatetime(tzinfo=UTC)
    fresh = (await gateway.start_login(unique_email("fresh"))).expires_at.ToDatetime(tzinfo=UTC)

    assert abs(known - fresh) < CLOCK_SLACK


@pytest.mark.parametrize("known", [False, True], ids=["fresh-email", "known-email"])
async def test_start_login_mails_a_six_digit_code(
    gateway: GatewayClient, codes: MailStubCodes, email: str, known: bool
) -> None:
    if known:
        await log_in(gateway, codes, email)

    started = await start_login(gateway, codes, email)

    assert re.fullmatch(r"[0-9]{6}", started.code), started.code


MALFORMED_EMAILS = [
    pytest.param("", id="empty"),
    pytest.param("not-an-email", id="no-at"),
    pytest.param("two@@lab.example.com", id="double-at"),
    pytest.param("spaces in@lab.example.com", id="space"),
    pytest.param(f"{'x' * 250}@lab.example.com", id="too-long"),
]


@pytest.mark.parametrize("address", MALFORMED_EMAILS)
async def test_malformed_email_is_invalid_argument_naming_email(gateway: GatewayClient, address: str) -> None:
    error = await failure(gateway.start_login(address))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert names_field(field_violations(error), "email"), field_violations(error)
