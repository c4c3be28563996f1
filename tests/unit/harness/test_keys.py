"""Unique identities: valid for the contracts, different every time, tagged with the xdist worker."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter
from pydantic.networks import EmailStr

from galaxy_contracts.models import CHALLENGE_ID_PATTERN, SESSION_ID_PATTERN, USER_ID_PATTERN
from tests.harness import keys


def test_email_is_a_valid_address() -> None:
    assert TypeAdapter(EmailStr).validate_python(keys.unique_email("Test Name[with-params]"))


def test_emails_never_repeat() -> None:
    assert len({keys.unique_email() for _ in range(1000)}) == 1000


def test_email_carries_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw7")

    assert "-gw7-" in keys.unique_email()


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (keys.unique_user_id, USER_ID_PATTERN),
        (keys.unique_session_id, SESSION_ID_PATTERN),
        (keys.unique_challenge_id, CHALLENGE_ID_PATTERN),
        (keys.unique_intent_id, r"^i_[0-9a-f]{32}$"),
    ],
)
def test_ids_match_the_contract_patterns(make: object, pattern: str) -> None:
    assert callable(make)
    assert re.fullmatch(pattern, make())


def test_label_is_short_and_safe() -> None:
    assert keys.label("test_x[known-email]" * 5) == "test-x-known-email-test"
