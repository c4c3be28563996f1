"""Pure rules: codes, hashing, expiry arithmetic."""

from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from galaxy.authsession.domain.errors import ChallengeNotFound, TooManyAttempts
from galaxy.authsession.domain.model import (
    Challenge,
    CodeHasher,
    Session,
    expires_in_minutes,
    from_rfc3339,
    new_code,
    rfc3339,
)


def test_codes_are_six_digits_and_cover_leading_zeros() -> None:
    codes = {new_code() for _ in range(3000)}
    assert all(re.fullmatch(r"[0-9]{6}", c) for c in codes)
    assert any(c.startswith("0") for c in codes)


def test_hash_depends_on_key_challenge_and_code() -> None:
    one, other = CodeHasher(b"a" * 32), CodeHasher(b"b" * 32)
    assert one.digest("c_1", "123456") != other.digest("c_1", "123456")
    assert one.digest("c_1", "123456") != one.digest("c_2", "123456")
    assert one.matches("c_1", "123456", one.digest("c_1", "123456"))
    assert not one.matches("c_1", "123457", one.digest("c_1", "123456"))


def test_hasher_from_the_same_signing_key_agrees_across_instances() -> None:
    key = Ed25519PrivateKey.generate()
    assert CodeHasher.from_signing_key(key).digest("c", "1") == CodeHasher.from_signing_key(key).digest("c", "1")
    assert CodeHasher.from_signing_key(key).digest("c", "1") != CodeHasher.from_signing_key(
        Ed25519PrivateKey.generate()
    ).digest("c", "1")


def test_short_hash_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        CodeHasher(b"short")


def test_challenge_refuses_when_expired_or_spent_whatever_the_code() -> None:
    hasher = CodeHasher(b"k" * 32)
    challenge = Challenge.issue("a@example.com", None, "000001", hasher, now=100.0, ttl_seconds=10)
    assert challenge.accepts("000001", hasher, now=109.9, max_attempts=5)
    assert not challenge.accepts("000002", hasher, now=109.9, max_attempts=5)
    with pytest.raises(ChallengeNotFound):
        challenge.accepts("000001", hasher, now=110.0, max_attempts=5)
    with pytest.raises(TooManyAttempts):
        challenge.accepts("000001", hasher, now=100.0, max_attempts=0)


@pytest.mark.parametrize(("ttl", "minutes"), [(600, 10), (601, 11), (59, 1), (60, 1)])
def test_expires_in_minutes_rounds_up(ttl: int, minutes: int) -> None:
    assert expires_in_minutes(ttl) == minutes


def test_session_fields_round_trip_as_rfc3339() -> None:
    session = Session.open("u_" + "a" * 32, "kid-1", now=1_700_000_000.7, ttl_seconds=3600)
    fields = session.fields()
    assert fields["created_at"] == "2023-11-14T22:13:20Z"
    assert from_rfc3339(fields["expires_at"]) == 1_700_003_600
    assert Session.from_fields(session.session_id, fields) == session
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
