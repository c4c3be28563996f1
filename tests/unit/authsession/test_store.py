"""The Redis challenge store's atomic transitions, driven directly with an injected clock."""

from __future__ import annotations

import asyncio

import fakeredis
import pytest

from galaxy.authsession.adapters.challenges import RedisChallengeStore
from galaxy.authsession.domain.errors import ChallengeNotFound, TooManyAttempts
from galaxy.authsession.domain.model import Challenge, Claim, CodeHasher, Session
from galaxy_contracts import redis_keys

NOW = 1_700_000_000.0
HASHER = CodeHasher(b"k" * 32)


@pytest.fixture
def store(redis: fakeredis.FakeAsyncRedis) -> RedisChallengeStore:
    return RedisChallengeStore(redis)


async def issue(store: RedisChallengeStore) -> Challenge:
    challenge = Challenge.issue("ada@example.com", "de", "123456", HASHER, now=NOW, ttl_seconds=600)
    await store.create(challenge)
    return challenge


async def test_stored_challenge_reads_back(store: RedisChallengeStore) -> None:
    challenge = await issue(store)
    assert await store.get(challenge.challenge_id) == challenge


async def test_only_one_of_concurrent_claims_wins(store: RedisChallengeStore) -> None:
    challenge = await issue(store)
    results = await asyncio.gather(
        *(store.claim(challenge.challenge_id, now=NOW, max_attempts=5, lease_seconds=10) for _ in range(5)),
        return_exceptions=True,
    )
    assert len([r for r in results if isinstance(r, Claim)]) == 1
    assert all(isinstance(r, ChallengeNotFound) for r in results if not isinstance(r, Claim))


async def test_an_abandoned_claim_frees_the_challenge_after_its_lease(store: RedisChallengeStore) -> None:
    challenge = await issue(store)
    await store.claim(challenge.challenge_id, now=NOW, max_attempts=5, lease_seconds=10)
    with pytest.raises(ChallengeNotFound):
        await store.claim(challenge.challenge_id, now=NOW + 9, max_attempts=5, lease_seconds=10)
    assert await store.claim(challenge.challenge_id, now=NOW + 10, max_attempts=5, lease_seconds=10)


async def test_released_claim_can_be_claimed_again(store: RedisChallengeStore) -> None:
    challenge = await issue(store)
    claim = await store.claim(challenge.challenge_id, now=NOW, max_attempts=5, lease_seconds=10)
    await store.release(challenge.challenge_id, claim.token)
    assert await store.claim(challenge.challenge_id, now=NOW, max_attempts=5, lease_seconds=10)


async def test_complete_with_a_stale_claim_writes_nothing(
    store: RedisChallengeStore, redis: fakeredis.FakeAsyncRedis
) -> None:
    challenge = await issue(store)
    stale = (await store.claim(challenge.challenge_id, now=NOW, max_attempts=5, lease_seconds=10)).token
    await store.claim(challenge.challenge_id, now=NOW + 10, max_attempts=5, lease_seconds=10)
    session = Session.open("u_" + "a" * 32, "kid", now=NOW, ttl_seconds=60)
    assert not await store.complete(challenge.challenge_id, stale, session, None)
    assert not await redis.exists(redis_keys.session(session.session_id))
    assert await store.get(challenge.challenge_id) is not None


async def test_failures_count_down_then_spend_the_challenge(store: RedisChallengeStore) -> None:
    challenge = await issue(store)
    remaining = [await store.record_failure(challenge.challenge_id, now=NOW, max_attempts=3) for _ in range(3)]
    assert remaining == [2, 1, 0]
    with pytest.raises(TooManyAttempts):
        await store.record_failure(challenge.challenge_id, now=NOW, max_attempts=3)
    with pytest.raises(TooManyAttempts):
        await store.claim(challenge.challenge_id, now=NOW, max_attempts=3, lease_seconds=10)


async def test_expired_challenge_cannot_be_claimed_or_failed(store: RedisChallengeStore) -> None:
    challenge = await issue(store)
    with pytest.raises(ChallengeNotFound):
        await store.claim(challenge.challenge_id, now=NOW + 600, max_attempts=5, lease_seconds=10)
    with pytest.raises(ChallengeNotFound):
        await store.record_failure(challenge.challenge_id, now=NOW + 600, max_attempts=5)
