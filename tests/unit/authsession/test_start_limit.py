"""Brute force across challenges: a limited number of starts per e-mail and window, and only the newest code works."""

from __future__ import annotations

import re

import fakeredis
import httpx
import pytest
from prometheus_client import REGISTRY

from galaxy.authsession.adapters.challenges import STARTS_PREFIX, email_digest
from galaxy.authsession.settings import Settings
from tests.unit.authsession.fakes import FakeMailService, FakeUserService
from tests.unit.authsession.helpers import Login

LIMIT = 5
WINDOW = 600


async def start(client: httpx.AsyncClient, email: str = "ada@example.com") -> httpx.Response:
    return await client.post("/v1/challenges", json={"email": email})


async def exhaust(client: httpx.AsyncClient, email: str = "ada@example.com") -> None:
    for _ in range(LIMIT):
        assert (await start(client, email)).status_code == 201


def without_the_wait(response: httpx.Response) -> dict[str, object]:
    """The problem's body with the seconds to wait taken out of its detail."""
    body = response.json()
    return body | {"detail": re.sub(r"\d+s\b", "<n>s", body["detail"])}


def test_the_limit_settings_default_to_five_per_ten_minutes(settings: Settings) -> None:
    assert (settings.challenge_starts_per_window, settings.challenge_start_window_seconds) == (LIMIT, WINDOW)


async def test_a_start_over_the_limit_is_429_and_mails_nothing(
    client: httpx.AsyncClient, mail: FakeMailService
) -> None:
    await exhaust(client)

    refused = await start(client)

    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "too_many_challenges"
    assert 0 < int(refused.headers["retry-after"]) <= WINDOW
    assert len(mail.sent) == LIMIT


async def test_the_limit_counts_one_mailbox_whatever_its_letter_case(client: httpx.AsyncClient) -> None:
    await exhaust(client, "Ada@Example.com")

    assert (await start(client, "ada@example.com")).status_code == 429


async def test_other_e_mail_addresses_keep_their_own_allowance(client: httpx.AsyncClient) -> None:
    await exhaust(client)

    assert (await start(client, "grace@example.com")).status_code == 201


async def test_the_window_is_fixed_and_ends(client: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis) -> None:
    await exhaust(client)
    counter = STARTS_PREFIX + email_digest("ada@example.com")
    assert WINDOW - 2 <= await redis.ttl(counter) <= WINDOW
    await redis.delete(counter)  # what the window's end does

    assert (await start(client)).status_code == 201


async def test_no_e_mail_address_appears_in_a_key_name(
    client: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis
) -> None:
    # Neither part of the address can occur by chance in the hex of an id or a digest (a pattern such as
    # "*ada*" also matched a random challenge id like c_89ada069...).
    local_part, domain = "ada.lovelace", "analytical-engine.example"
    await exhaust(client, f"{local_part}@{domain}")

    keys = [key async for key in redis.scan_iter("*")]

    assert keys, "the starts left no key to check"
    assert [key for key in keys if local_part in key or domain in key] == []


async def test_known_and_unknown_e_mails_are_refused_alike(client: httpx.AsyncClient, users: FakeUserService) -> None:
    users.seed("known@example.com")
    await exhaust(client, "known@example.com")
    await exhaust(client, "nobody@example.com")

    known, unknown = await start(client, "known@example.com"), await start(client, "nobody@example.com")

    assert known.status_code == unknown.status_code == 429
    # The two windows opened a moment apart: their waits may differ by the second between them, nothing else.
    assert abs(int(known.headers["retry-after"]) - int(unknown.headers["retry-after"])) <= 1
    assert without_the_wait(known) == without_the_wait(unknown)
    assert set(known.headers) == set(unknown.headers)
    assert users.calls == [], "start must not look the e-mail up"


async def test_a_refused_start_is_counted_in_the_metrics(client: httpx.AsyncClient) -> None:
    name, labels = "galaxy_authsession_challenges_failed_total", {"reason": "too_many_challenges"}
    before = REGISTRY.get_sample_value(name, labels) or 0.0
    await exhaust(client)

    await start(client)

    assert REGISTRY.get_sample_value(name, labels) == before + 1


# --- several challenges of one e-mail stay open ---------------------------------------------------
# (a login on two devices at once; concurrent confirms for a new e-mail still create one account).
# Guessing is bounded by the start limit instead: at most LIMIT challenges' attempts per window.


async def test_an_earlier_challenge_stays_open_after_a_newer_one(login: Login) -> None:
    first_id, first_code = await login.start()
    second_id, second_code = await login.start()

    assert (await login.confirm(first_id, first_code)).status_code == 200
    assert (await login.confirm(second_id, second_code)).status_code == 200


async def test_a_challenge_for_another_e_mail_stays_open(login: Login) -> None:
    ada_id, ada_code = await login.start("ada@example.com")
    await login.start("grace@example.com")

    assert (await login.confirm(ada_id, ada_code)).status_code == 200


@pytest.mark.parametrize("failure", ["down", "refused"])
async def test_a_start_whose_mail_fails_leaves_the_earlier_challenge_open(
    login: Login, client: httpx.AsyncClient, mail: FakeMailService, failure: str
) -> None:
    challenge_id, code = await login.start()
    if failure == "down":
        mail.down = True
    else:
        mail.refuse_with = 422

    assert (await start(client)).status_code == 503
    mail.down, mail.refuse_with = False, None

    assert (await login.confirm(challenge_id, code)).status_code == 200
