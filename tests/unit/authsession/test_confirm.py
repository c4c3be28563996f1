"""POST /v1/challenges/{id}/confirm: codes, attempts, expiry, single use, User Service outcomes."""

from __future__ import annotations

import asyncio
import json
import re

import fakeredis
import httpx
import jwt
import pytest

from galaxy_contracts import redis_keys, streams, tokens
from tests.unit.authsession.fakes import FakeClock, FakeUserService
from tests.unit.authsession.helpers import KID, Login, wrong


async def session_keys(redis: fakeredis.FakeAsyncRedis) -> list[str]:
    return [key async for key in redis.scan_iter("authsession:session:*")]


async def test_right_code_opens_a_session(login: Login, redis: fakeredis.FakeAsyncRedis, clock: FakeClock) -> None:
    challenge_id, code = await login.start()
    response = await login.confirm(challenge_id, code)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"session_token", "session_id", "user_id", "new_account", "expires_at"}
    assert re.fullmatch(r"s_[0-9a-f]{32}", body["session_id"])
    assert re.fullmatch(r"u_[0-9a-f]{32}", body["user_id"])
    assert body["new_account"] is True
    stored = await redis.hgetall(redis_keys.session(body["session_id"]))
    assert set(stored) == {"user_id", "created_at", "expires_at", "kid"}
    assert stored["user_id"] == body["user_id"]
    assert stored["kid"] == KID
    assert stored["expires_at"] == body["expires_at"]
    assert 3590 <= await redis.ttl(redis_keys.session(body["session_id"])) <= 3600
    assert await redis.smembers(redis_keys.user_sessions(body["user_id"])) == {body["session_id"]}


async def test_resolve_is_called_with_the_challenge_email_and_locale(login: Login, users: FakeUserService) -> None:
    challenge_id, code = await login.start("Ada@Example.com", locale="fr")
    await login.confirm(challenge_id, code)
    assert users.calls == [{"email": "Ada@example.com", "locale": "fr"}]


async def test_token_verifies_with_the_published_key(login: Login, anonymous: httpx.AsyncClient) -> None:
    challenge_id, code = await login.start()
    body = (await login.confirm(challenge_id, code)).json()
    keyset = (await anonymous.get("/v1/keys")).json()
    keys = tokens.public_keys_from_pem({k["kid"]: k["public_key_pem"] for k in keyset["keys"]})
    claims = tokens.verify(body["session_token"], keys, "galaxy-gateway")
    assert (claims.user_id, claims.session_id) == (body["user_id"], body["session_id"])
    assert claims.expires_at - claims.issued_at == 3600
    header = jwt.get_unverified_header(body["session_token"])
    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": KID}
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(body["session_token"], keys, "someone-else")


async def test_code_is_single_use(login: Login, redis: fakeredis.FakeAsyncRedis) -> None:
    challenge_id, code = await login.start()
    assert (await login.confirm(challenge_id, code)).status_code == 200
    again = await login.confirm(challenge_id, code)
    assert again.status_code == 404
    assert again.json()["code"] == "challenge_not_found"
    assert len(await session_keys(redis)) == 1


async def test_concurrent_confirms_open_exactly_one_session(
    login: Login, redis: fakeredis.FakeAsyncRedis, users: FakeUserService
) -> None:
    challenge_id, code = await login.start()
    responses = await asyncio.gather(*(login.confirm(challenge_id, code) for _ in range(8)))
    assert sorted(r.status_code for r in responses) == [200] + [404] * 7
    assert len(await session_keys(redis)) == 1
    assert len(users.calls) == 1


async def test_confirm_while_another_is_in_flight_is_refused(
    login: Login, redis: fakeredis.FakeAsyncRedis, users: FakeUserService
) -> None:
    challenge_id, code = await login.start()
    users.gate = asyncio.Event()
    first = asyncio.create_task(login.confirm(challenge_id, code))
    await asyncio.wait_for(users.called.wait(), timeout=5)
    second = await login.confirm(challenge_id, code)
    users.gate.set()
    assert second.status_code == 404
    assert (await first).status_code == 200
    assert len(await session_keys(redis)) == 1


async def test_wrong_code_says_how_many_attempts_remain(login: Login) -> None:
    challenge_id, code = await login.start()
    remaining = []
    for _ in range(5):
        response = await login.confirm(challenge_id, wrong(code))
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_code"
        remaining.append(response.json()["remaining_attempts"])
    assert remaining == [4, 3, 2, 1, 0]


async def test_only_a_wrong_code_carries_remaining_attempts(login: Login) -> None:
    challenge_id, code = await login.start()
    for _ in range(5):
        await login.confirm(challenge_id, wrong(code))

    spent = await login.confirm(challenge_id, code)

    assert spent.json()["code"] == "too_many_attempts"
    assert "remaining_attempts" not in spent.json()


async def test_after_five_wrong_codes_even_the_right_one_is_refused(login: Login) -> None:
    challenge_id, code = await login.start()
    for _ in range(5):
        await login.confirm(challenge_id, wrong(code))
    for attempt in (wrong(code), code):
        response = await login.confirm(challenge_id, attempt)
        assert response.status_code == 429
        assert response.json()["code"] == "too_many_attempts"


async def test_concurrent_wrong_codes_never_exceed_the_limit(login: Login) -> None:
    challenge_id, code = await login.start()
    responses = await asyncio.gather(*(login.confirm(challenge_id, wrong(code)) for _ in range(8)))
    assert sorted(r.status_code for r in responses) == [401] * 5 + [429] * 3
    assert (await login.confirm(challenge_id, code)).status_code == 429


async def test_right_code_after_some_wrong_ones_still_works(login: Login) -> None:
    challenge_id, code = await login.start()
    for _ in range(4):
        await login.confirm(challenge_id, wrong(code))
    assert (await login.confirm(challenge_id, code)).status_code == 200


async def test_challenge_works_until_its_ttl(login: Login, clock: FakeClock) -> None:
    challenge_id, code = await login.start()
    clock.advance(599)
    assert (await login.confirm(challenge_id, code)).status_code == 200


@pytest.mark.parametrize("code_kind", ["right", "wrong"])
async def test_expired_challenge_is_not_found(login: Login, clock: FakeClock, code_kind: str) -> None:
    challenge_id, code = await login.start()
    clock.advance(600)
    response = await login.confirm(challenge_id, code if code_kind == "right" else wrong(code))
    assert response.status_code == 404
    assert response.json()["code"] == "challenge_not_found"


async def test_unknown_challenge_is_not_found(login: Login) -> None:
    response = await login.confirm("c_" + "0" * 32, "123456")
    assert response.status_code == 404
    assert response.json()["code"] == "challenge_not_found"


async def test_user_service_down_leaves_the_challenge_usable(
    login: Login, users: FakeUserService, redis: fakeredis.FakeAsyncRedis
) -> None:
    challenge_id, code = await login.start()
    users.down = True
    for _ in range(6):  # more outages than the attempt limit: none counts as an attempt
        response = await login.confirm(challenge_id, code)
        assert response.status_code == 503
        assert response.json()["code"] == "upstream_unavailable"
    assert await session_keys(redis) == []
    users.down = False
    assert (await login.confirm(challenge_id, code)).status_code == 200


async def test_user_service_timeout_answers_503_then_the_same_code_works(login: Login, users: FakeUserService) -> None:
    challenge_id, code = await login.start()
    users.gate = asyncio.Event()  # never set: the call hangs past the 0.5 s downstream timeout
    response = await login.confirm(challenge_id, code)
    assert response.status_code == 503
    assert response.json()["detail"] == "user service unavailable: no answer within 0.50s"
    users.gate = None
    assert (await login.confirm(challenge_id, code)).status_code == 200


async def test_user_service_503_names_its_own_cause(login: Login, users: FakeUserService) -> None:
    challenge_id, code = await login.start()
    users.unavailable_because = "the account store is unavailable; retry later"

    response = await login.confirm(challenge_id, code)

    assert response.status_code == 503
    assert response.json()["detail"] == "user service unavailable: the account store is unavailable; retry later"


async def test_blocked_account_is_refused_without_a_session(
    login: Login, users: FakeUserService, redis: fakeredis.FakeAsyncRedis
) -> None:
    users.seed("mallory@example.com")
    users.blocked.add("mallory@example.com")
    challenge_id, code = await login.start("mallory@example.com")
    response = await login.confirm(challenge_id, code)
    assert response.status_code == 403
    assert response.json()["code"] == "account_blocked"
    assert await session_keys(redis) == []
    assert (await login.confirm(challenge_id, code)).status_code == 404


async def test_new_account_writes_one_schema_valid_welcome_intent(
    login: Login, redis: fakeredis.FakeAsyncRedis
) -> None:
    challenge_id, code = await login.start()
    user_id = (await login.confirm(challenge_id, code)).json()["user_id"]
    [(_, fields)] = await redis.xrange(redis_keys.NOTIFICATION_INTENTS)
    streams.validate(redis_keys.NOTIFICATION_INTENTS, fields)
    assert fields["type"] == "account.welcome"
    assert fields["user_id"] == user_id
    assert fields["producer"] == "authsession"
    assert json.loads(fields["params"]) == {}
    assert re.fullmatch(r"i_[0-9a-f]{32}", fields["intent_id"])


async def test_known_account_writes_no_intent(login: Login, redis: fakeredis.FakeAsyncRedis) -> None:
    for _ in range(2):
        challenge_id, code = await login.start()
        await login.confirm(challenge_id, code)
    assert await redis.xlen(redis_keys.NOTIFICATION_INTENTS) == 1


async def test_known_account_logs_in_to_the_same_user(login: Login, users: FakeUserService) -> None:
    user_id = users.seed("ada@example.com")
    challenge_id, code = await login.start("ada@example.com")
    body = (await login.confirm(challenge_id, code)).json()
    assert (body["user_id"], body["new_account"]) == (user_id, False)
