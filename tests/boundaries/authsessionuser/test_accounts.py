"""Confirm resolves the account in the real User Service: created exactly once, found again afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys, streams
from galaxy_contracts.http import AuthSessionClient, UserClient
from galaxy_contracts.models import Session
from tests.boundaries.authsessionuser.flows import log_in, start, the_welcome_intent
from tests.harness.login_codes import MailStubCodes

CONCURRENT_CONFIRMS = 6


async def test_first_confirm_creates_a_new_account(auth: AuthSessionClient, codes: MailStubCodes, email: str) -> None:
    session = await log_in(auth, codes, email)

    assert session.new_account


async def test_created_account_is_in_user_service_with_the_email(
    auth: AuthSessionClient, codes: MailStubCodes, users: UserClient, email: str
) -> None:
    session = await log_in(auth, codes, email)

    account = await users.get(session.user_id)

    assert account.email.lower() == email


async def test_new_account_writes_one_schema_valid_welcome_intent(
    auth: AuthSessionClient, codes: MailStubCodes, redis: aioredis.Redis, email: str
) -> None:
    session = await log_in(auth, codes, email)

    intent = await the_welcome_intent(redis, session.user_id)

    streams.validate(redis_keys.NOTIFICATION_INTENTS, intent)
    assert intent["producer"] == "authsession"


# --- concurrent confirms of several challenges for one new e-mail ------------------------------


@dataclass(frozen=True)
class Race:
    email: str
    sessions: list[Session]


@pytest.fixture
async def race(auth: AuthSessionClient, codes: MailStubCodes, email: str) -> Race:
    """Several challenges for one new e-mail, all confirmed at once."""
    started = [await start(auth, codes, email) for _ in range(CONCURRENT_CONFIRMS)]
    sessions = await asyncio.gather(*(auth.confirm(s.challenge_id, s.code) for s in started))
    return Race(email, list(sessions))


async def test_concurrent_confirms_resolve_one_account(race: Race) -> None:
    assert len({s.user_id for s in race.sessions}) == 1, [s.user_id for s in race.sessions]


async def test_concurrent_confirms_report_one_new_account(race: Race) -> None:
    assert [s.new_account for s in race.sessions].count(True) == 1, [s.new_account for s in race.sessions]


async def test_concurrent_confirms_open_a_session_each(race: Race) -> None:
    assert len({s.session_id for s in race.sessions}) == CONCURRENT_CONFIRMS


async def test_concurrent_confirms_write_one_welcome_intent(race: Race, redis: aioredis.Redis) -> None:
    intent = await the_welcome_intent(redis, race.sessions[0].user_id)

    streams.validate(redis_keys.NOTIFICATION_INTENTS, intent)


async def test_concurrent_confirms_leave_one_account_in_user_service(race: Race, users: UserClient) -> None:
    resolved = await users.resolve(race.email)

    assert (resolved.account.user_id, resolved.created) == (race.sessions[0].user_id, False)


# --- a known e-mail -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    user_id: str
    login_as: str


KnownWay = Callable[[AuthSessionClient, MailStubCodes, UserClient, str], Awaitable[Known]]


async def logged_in_before(auth: AuthSessionClient, codes: MailStubCodes, users: UserClient, email: str) -> Known:
    return Known((await log_in(auth, codes, email)).user_id, email)


async def created_in_user_service(
    auth: AuthSessionClient, codes: MailStubCodes, users: UserClient, email: str
) -> Known:
    return Known((await users.resolve(email)).account.user_id, email)


async def other_letter_case(auth: AuthSessionClient, codes: MailStubCodes, users: UserClient, email: str) -> Known:
    return Known((await log_in(auth, codes, email)).user_id, email.upper())


KNOWN_WAYS: list[KnownWay] = [logged_in_before, created_in_user_service, other_letter_case]


@pytest.mark.parametrize("way", KNOWN_WAYS, ids=lambda way: way.__name__.replace("_", "-"))
async def test_known_email_resolves_to_the_same_account(
    auth: AuthSessionClient, codes: MailStubCodes, users: UserClient, email: str, way: KnownWay
) -> None:
    known = await way(auth, codes, users, email)

    session = await log_in(auth, codes, known.login_as)

    assert (session.user_id, session.new_account) == (known.user_id, False)


async def test_known_email_writes_no_second_welcome_intent(
    auth: AuthSessionClient, codes: MailStubCodes, redis: aioredis.Redis, email: str
) -> None:
    first = await log_in(auth, codes, email)
    await the_welcome_intent(redis, first.user_id)

    await log_in(auth, codes, email)

    await the_welcome_intent(redis, first.user_id)
