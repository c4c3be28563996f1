"""An account blocked through User Service's API cannot log in; lifting the block lets it in again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys
from galaxy_contracts.http import ApiError, AuthSessionClient, UserClient
from tests.boundaries.authsessionuser.flows import log_in, start
from tests.harness.login_codes import MailStubCodes

REASON = "lab: blocked by the authsessionuser suite"

Blocking = Callable[[AuthSessionClient, MailStubCodes, UserClient, str], Awaitable[str]]


async def after_a_login(auth: AuthSessionClient, codes: MailStubCodes, users: UserClient, email: str) -> str:
    user_id = (await log_in(auth, codes, email)).user_id
    await users.block(user_id, REASON)
    return user_id


async def before_any_login(auth: AuthSessionClient, codes: MailStubCodes, users: UserClient, email: str) -> str:
    user_id = (await users.resolve(email)).account.user_id
    await users.block(user_id, REASON)
    return user_id


BLOCKINGS: list[Blocking] = [after_a_login, before_any_login]


@pytest.mark.parametrize("blocked", BLOCKINGS, ids=lambda way: way.__name__.replace("_", "-"))
async def test_blocked_account_cannot_log_in(
    auth: AuthSessionClient, codes: MailStubCodes, users: UserClient, email: str, blocked: Blocking
) -> None:
    await blocked(auth, codes, users, email)
    started = await start(auth, codes, email)

    with pytest.raises(ApiError) as refused:
        await auth.confirm(started.challenge_id, started.code)

    assert (refused.value.status, refused.value.code) == (403, "account_blocked")


async def test_refused_login_opens_no_session(
    auth: AuthSessionClient, codes: MailStubCodes, users: UserClient, redis: aioredis.Redis, email: str
) -> None:
    user_id = await after_a_login(auth, codes, users, email)
    sessions_before = await redis.smembers(redis_keys.user_sessions(user_id))
    started = await start(auth, codes, email)

    with pytest.raises(ApiError):
        await auth.confirm(started.challenge_id, started.code)

    assert await redis.smembers(redis_keys.user_sessions(user_id)) == sessions_before


async def test_unblocked_account_can_log_in_again(
    auth: AuthSessionClient, codes: MailStubCodes, users: UserClient, email: str
) -> None:
    user_id = await after_a_login(auth, codes, users, email)
    await users.unblock(user_id)

    session = await log_in(auth, codes, email)

    assert session.user_id == user_id
