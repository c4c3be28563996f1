"""Sessions opened by a login: their public Redis keys, and Logout revoking exactly the calling session."""

from __future__ import annotations

import grpc
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys
from galaxy_contracts.gateway import GatewayClient
from tests.harness.login import log_in
from tests.harness.login_codes import MailStubCodes
from tests.harness.rpc import failure
from tests.harness.waits import eventually_async

# DESIGN §2: after Logout the gateway refuses the token within 1 s.
REVOCATION_DEADLINE = 1.0
SESSION_FIELDS = {"user_id", "created_at", "expires_at", "kid"}


async def test_login_publishes_the_session_in_redis(
    gateway: GatewayClient, codes: MailStubCodes, email: str, redis: aioredis.Redis
) -> None:
    session = await log_in(gateway, codes, email)

    stored = await redis.hgetall(redis_keys.session(session.session_id))

    assert stored.keys() >= SESSION_FIELDS, stored
    assert stored["user_id"] == session.user_id, stored


async def test_session_key_expires_with_the_session(
    gateway: GatewayClient, codes: MailStubCodes, email: str, redis: aioredis.Redis
) -> None:
    session = await log_in(gateway, codes, email)

    ttl = await redis.ttl(redis_keys.session(session.session_id))

    assert ttl > 0, f"TTL of the session key: {ttl}"


async def test_login_lists_the_session_under_its_user(
    gateway: GatewayClient, codes: MailStubCodes, email: str, redis: aioredis.Redis
) -> None:
    session = await log_in(gateway, codes, email)

    assert await redis.sismember(redis_keys.user_sessions(session.user_id), session.session_id)


async def test_token_is_refused_within_a_second_of_logout(
    gateway: GatewayClient, codes: MailStubCodes, email: str
) -> None:
    session = await log_in(gateway, codes, email)
    await gateway.get_my_account(session.session_token)  # works before

    await gateway.logout(session.session_token)

    async def refused() -> None:
        error = await failure(gateway.get_my_account(session.session_token))
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error.details()

    await eventually_async(refused, within=REVOCATION_DEADLINE, what="token refused after logout")


async def test_logout_removes_the_public_session_keys(
    gateway: GatewayClient, codes: MailStubCodes, email: str, redis: aioredis.Redis
) -> None:
    session = await log_in(gateway, codes, email)

    await gateway.logout(session.session_token)

    assert not await redis.exists(redis_keys.session(session.session_id))
    assert not await redis.sismember(redis_keys.user_sessions(session.user_id), session.session_id)


async def test_logout_leaves_the_users_other_sessions_working(
    gateway: GatewayClient, codes: MailStubCodes, email: str
) -> None:
    first = await log_in(gateway, codes, email)
    second = await log_in(gateway, codes, email)

    await gateway.logout(first.session_token)

    assert (await gateway.get_my_account(second.session_token)).user_id == second.user_id


async def test_logged_out_token_cannot_log_out_again(gateway: GatewayClient, codes: MailStubCodes, email: str) -> None:
    session = await log_in(gateway, codes, email)
    await gateway.logout(session.session_token)

    error = await failure(gateway.logout(session.session_token))

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error.details()
