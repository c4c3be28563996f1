"""POST /v1/challenges: code generation, storage, the direct mail, no enumeration."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

import fakeredis
import httpx
import pytest

from galaxy_contracts import redis_keys
from tests.unit.authsession.fakes import MAIL_TOKEN, FakeClock, FakeMailService, FakeUserService
from tests.unit.authsession.helpers import Login


async def everything_in(redis: fakeredis.FakeAsyncRedis) -> list[str]:
    values: list[str] = []
    async for key in redis.scan_iter("*"):
        values.append(key)
        if await redis.type(key) == "hash":
            for field, value in (await redis.hgetall(key)).items():
                values += [field, value]
    return values


async def test_start_answers_201_with_a_challenge_id_and_expiry(client: httpx.AsyncClient, clock: FakeClock) -> None:
    response = await client.post("/v1/challenges", json={"email": "ada@example.com"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"challenge_id", "expires_at"}
    assert re.fullmatch(r"c_[0-9a-f]{32}", body["challenge_id"])
    assert datetime.fromisoformat(body["expires_at"]).timestamp() == pytest.approx(clock.now + 600, abs=1)


async def test_code_is_six_digits_and_differs_between_challenges(login: Login) -> None:
    codes = [(await login.start(f"user{n}@example.com"))[1] for n in range(20)]
    assert all(re.fullmatch(r"[0-9]{6}", code) for code in codes)
    assert len(set(codes)) > 1


async def test_code_is_never_stored_in_clear(login: Login, redis: fakeredis.FakeAsyncRedis) -> None:
    challenge_id, code = await login.start()
    stored = await everything_in(redis)
    assert not [v for v in stored if re.search(rf"(?<![0-9]){code}(?![0-9])", v)]
    record = await redis.hgetall(f"authsession:challenge:{challenge_id}")
    unkeyed = {hashlib.sha256(s.encode()).hexdigest() for s in (code, f"{challenge_id}:{code}")}
    assert re.fullmatch(r"[0-9a-f]{64}", record["code_hash"])
    assert record["code_hash"] not in unkeyed


async def test_challenge_key_expires_with_the_challenge_ttl(login: Login, redis: fakeredis.FakeAsyncRedis) -> None:
    challenge_id, _ = await login.start()
    assert 595 <= await redis.ttl(f"authsession:challenge:{challenge_id}") <= 600


async def test_code_mail_goes_straight_to_mail_service(
    login: Login, mail: FakeMailService, redis: fakeredis.FakeAsyncRedis
) -> None:
    challenge_id, code = await login.start("ada@example.com", locale="de")
    [sent] = mail.sent
    assert sent.to == "ada@example.com"
    assert sent.template == "auth.login_code"
    assert sent.locale == "de"
    assert sent.params == {"code": code, "expires_in_minutes": 10}
    assert sent.idempotency_key == challenge_id
    assert sent.authorization == f"Bearer {MAIL_TOKEN}"
    assert await redis.xlen(redis_keys.NOTIFICATION_INTENTS) == 0


async def test_locale_defaults_to_english_in_the_mail(login: Login, mail: FakeMailService) -> None:
    await login.start()
    assert mail.sent[-1].locale == "en"


async def test_known_and_unknown_emails_get_the_same_answer(client: httpx.AsyncClient, users: FakeUserService) -> None:
    users.seed("known@example.com")
    known = await client.post("/v1/challenges", json={"email": "known@example.com"})
    unknown = await client.post("/v1/challenges", json={"email": "nobody@example.com"})
    assert (known.status_code, set(known.json()), known.headers["content-type"]) == (
        unknown.status_code,
        set(unknown.json()),
        unknown.headers["content-type"],
    )
    assert users.calls == [], "start must not look the e-mail up"


@pytest.mark.parametrize("failure", ["down", "refused"])
async def test_mail_failure_answers_503_and_leaves_no_challenge(
    client: httpx.AsyncClient, mail: FakeMailService, redis: fakeredis.FakeAsyncRedis, failure: str
) -> None:
    if failure == "down":
        mail.down = True
    else:
        mail.refuse_with = 422
    response = await client.post("/v1/challenges", json={"email": "ada@example.com"})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "upstream_unavailable"
    assert [key async for key in redis.scan_iter("authsession:challenge:*")] == []
