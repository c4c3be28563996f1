"""Login challenges through the gateway: wrong codes, the attempt limit, expiry, single use, bad input."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from galaxy_contracts.gateway import GatewayClient
from tests.boundaries.gatewayauthsession.flows import wrong
from tests.harness.keys import unique_challenge_id
from tests.harness.login import start_login
from tests.harness.login_codes import MailStubCodes
from tests.harness.rpc import failure, field_violations, names_field
from tests.harness.waits import until_async

# The expiry test waits out a whole challenge TTL; beyond this the lab must give the boundary a shorter one.
LONGEST_TTL_TO_WAIT = 30
# Redis TTLs and the service's clock round to the second.
EXPIRY_GRACE = timedelta(seconds=1.5)


async def test_wrong_code_is_unauthenticated(gateway: GatewayClient, codes: MailStubCodes, email: str) -> None:
    started = await start_login(gateway, codes, email)

    error = await failure(gateway.confirm_login(started.challenge_id, wrong(started.code)))

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error.details()


async def test_wrong_code_message_tells_the_remaining_attempts(
    gateway: GatewayClient, codes: MailStubCodes, email: str, max_attempts: int
) -> None:
    started = await start_login(gateway, codes, email)

    error = await failure(gateway.confirm_login(started.challenge_id, wrong(started.code)))

    assert re.search(rf"\b{max_attempts - 1}\b", error.details() or ""), error.details()


async def test_right_code_still_works_after_wrong_codes_below_the_limit(
    gateway: GatewayClient, codes: MailStubCodes, email: str, max_attempts: int
) -> None:
    started = await start_login(gateway, codes, email)
    for _ in range(max_attempts - 1):
        await failure(gateway.confirm_login(started.challenge_id, wrong(started.code)))

    session = await gateway.confirm_login(started.challenge_id, started.code)

    assert session.session_token


async def test_right_code_after_the_attempt_limit_is_resource_exhausted(
    gateway: GatewayClient, codes: MailStubCodes, email: str, max_attempts: int
) -> None:
    started = await start_login(gateway, codes, email)
    for _ in range(max_attempts):
        await failure(gateway.confirm_login(started.challenge_id, wrong(started.code)))

    error = await failure(gateway.confirm_login(started.challenge_id, started.code))

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()


async def test_code_used_twice_is_not_found(gateway: GatewayClient, codes: MailStubCodes, email: str) -> None:
    started = await start_login(gateway, codes, email)
    await gateway.confirm_login(started.challenge_id, started.code)

    error = await failure(gateway.confirm_login(started.challenge_id, started.code))

    assert error.code() == grpc.StatusCode.NOT_FOUND, error.details()


async def test_unknown_challenge_is_not_found(gateway: GatewayClient) -> None:
    error = await failure(gateway.confirm_login(unique_challenge_id(), "123456"))

    assert error.code() == grpc.StatusCode.NOT_FOUND, error.details()


async def test_challenge_expires_after_the_configured_ttl(
    gateway: GatewayClient, codes: MailStubCodes, email: str, challenge_ttl: int
) -> None:
    started = await start_login(gateway, codes, email)

    expected = datetime.now(UTC) + timedelta(seconds=challenge_ttl)
    assert abs(started.expires_at - expected) < timedelta(seconds=5), (started.expires_at, expected)


async def test_expired_challenge_is_not_found(
    gateway: GatewayClient, codes: MailStubCodes, email: str, challenge_ttl: int
) -> None:
    if challenge_ttl > LONGEST_TTL_TO_WAIT:
        pytest.fail(
            f"the lab's challenge TTL for this boundary is {challenge_ttl}s; the expiry test needs at most "
            f"{LONGEST_TTL_TO_WAIT}s: set authsession CHALLENGE_TTL_SECONDS for the boundary and publish it in "
            "the manifest (components.authsession.settings)",
            pytrace=False,
        )
    started = await start_login(gateway, codes, email)

    async def expired() -> bool:
        return datetime.now(UTC) > started.expires_at + EXPIRY_GRACE

    await until_async(
        expired,
        within=challenge_ttl + EXPIRY_GRACE.total_seconds() + 5,
        interval=0.2,
        what="the challenge's expires_at passed",
    )

    error = await failure(gateway.confirm_login(started.challenge_id, started.code))

    assert error.code() == grpc.StatusCode.NOT_FOUND, error.details()


MALFORMED_CODES = [
    pytest.param("", id="empty"),
    pytest.param("12345", id="five-digits"),
    pytest.param("1234567", id="seven-digits"),
    pytest.param("12a456", id="letter"),
]


@pytest.mark.parametrize("code", MALFORMED_CODES)
async def test_malformed_code_is_invalid_argument_naming_code(
    gateway: GatewayClient, codes: MailStubCodes, email: str, code: str
) -> None:
    started = await start_login(gateway, codes, email)

    error = await failure(gateway.confirm_login(started.challenge_id, code))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert names_field(field_violations(error), "code"), field_violations(error)
