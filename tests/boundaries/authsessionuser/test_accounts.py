"""Confirm resolves the account in the real User Service: created exactly once, found again afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys, streams
from galaxy_contracts.http import ApiError, AuthSessionClient, UserClient
from galaxy_contracts.models import ResolveResponse, Session
from tests.boundaries.authsessionuser.flows import log_in, start
from tests.harness.intents import WELCOME, the_intent
from tests.harness.login_codes import MailStubCodes

CONCURRENT_CONFIRMS = 6
CONCURRENT_RESOLVES = 5


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

    intent = await the_intent(redis, WELCOME, session.user_id)

    streams.validate(redis_keys.NOTIFICATION_INTENTS, intent)
    assert intent["producer"] == "authsession"


# --- concurrency: several callers at once for one new e-mail ------------------------------------
# Only an address's newest challenge can be confirmed (authsession voids the earlier one once it mails
# a new code), so concurrent confirms are confirms of one challenge; concurrent creators of the account
# are that confirm and other callers of User Service's resolve.


@dataclass(frozen=True)
class Race:
    email: str
    answers: list[Session | BaseException]

    @property
    def sessions(self) -> list[Session]:
        return [a for a in self.answers if isinstance(a, Session)]

    @property
    def refusals(self) -> list[BaseException]:
        return [a for a in self.answers if not isinstance(a, Session)]


@pytest.fixture
async def race(auth: AuthSessionClient, codes: MailStubCodes, email: str) -> Race:
    """One challenge of a new e-mail, confirmed with its code by several callers at once."""
    started = await start(auth, codes, email)
    confirms = (auth.confirm(started.challenge_id, started.code) for _ in range(CONCURRENT_CONFIRMS))
    return Race(email, list(await asyncio.gather(*confirms, return_exceptions=True)))


async def test_concurrent_confirms_open_one_session(race: Race) -> None:
    assert len(race.sessions) == 1, race.answers


async def test_the_other_concurrent_confirms_find_the_challenge_used(race: Race) -> None:
    refused = [(e.status, e.code) if isinstance(e, ApiError) else repr(e) for e in race.refusals]

    assert refused == [(404, "challenge_not_found")] * (CONCURRENT_CONFIRMS - 1)


async def test_concurrent_confirms_report_a_new_account(race: Race) -> None:
    assert [s.new_account for s in race.sessions] == [True], race.answers


async def test_concurrent_confirms_write_one_welcome_intent(race: Race, redis: aioredis.Redis) -> None:
    (session,) = race.sessions

    intent = await the_intent(redis, WELCOME, session.user_id)

    streams.validate(redis_keys.NOTIFICATION_INTENTS, intent)


async def test_concurrent_confirms_leave_one_account_in_user_service(race: Race, users: UserClient) -> None:
    (session,) = race.sessions

    resolved = await users.resolve(race.email)

    assert (resolved.account.user_id, resolved.created) == (session.user_id, False)


@dataclass(frozen=True)
class Crowd:
    session: Session
    resolved: list[ResolveResponse]

    @property
    def user_ids(self) -> set[str]:
        return {self.session.user_id} | {r.account.user_id for r in self.resolved}

    @property
    def creations(self) -> int:
        return [self.session.new_account, *(r.created for r in self.resolved)].count(True)


@pytest.fixture
async def crowd(auth: AuthSessionClient, codes: MailStubCodes, users: UserClient, email: str) -> Crowd:
    """A new e-mail's login confirmed while other callers resolve the same address in User Service."""
    started = await start(auth, codes, email)
    confirming = asyncio.ensure_future(auth.confirm(started.challenge_id, started.code))
    resolving = asyncio.gather(*(users.resolve(email) for _ in range(CONCURRENT_RESOLVES)))
    session, resolved = await asyncio.gather(confirming, resolving)
    return Crowd(session, list(resolved))


async def test_confirm_racing_other_resolves_lands_on_one_account(crowd: Crowd) -> None:
    assert len(crowd.user_ids) == 1, crowd.user_ids


async def test_confirm_racing_other_resolves_creates_the_account_once(crowd: Crowd) -> None:
    assert crowd.creations == 1, (crowd.session.new_account, [r.created for r in crowd.resolved])


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
    await the_intent(redis, WELCOME, first.user_id)

    await log_in(auth, codes, email)

    await the_intent(redis, WELCOME, first.user_id)
