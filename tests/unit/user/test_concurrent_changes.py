"""Concurrent changes of one account over the real Redis store (fakeredis with Lua): each change is computed
against exactly the state it replaces, so the ``account.updated`` intents, read in stream order, replay the
account from its first state to its last."""

from __future__ import annotations

import asyncio
import contextvars
import json
import random
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import fakeredis
import httpx

from galaxy.user.adapters.accounts import RedisAccountStore
from galaxy.user.domain.model import Account, Preferences, PreferencesChange, ProfileChange
from galaxy.user.domain.service import Accounts
from tests.unit.user.helpers import intents

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
UPDATES = 40
FIELDS = ("display_name", "locale", "notification_preferences.email_enabled", "notification_preferences.push_enabled")


CHANGE: contextvars.ContextVar[int] = contextvars.ContextVar("change", default=-1)


class Ticks:
    """A clock that never answers the same instant twice and remembers which change asked for each instant,
    so an intent's ``occurred_at`` names the change that wrote it."""

    def __init__(self) -> None:
        self.now = T0
        self.asked_by: dict[str, int] = {}

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        self.asked_by[self.now.isoformat()] = CHANGE.get()
        return self.now


class RacingStore(RedisAccountStore):
    """The real store, except that the first ``racers`` reads wait for one another: every change reads the
    account before any of them writes, however the event loop would have ordered them."""

    def __init__(self, redis: fakeredis.FakeAsyncRedis, racers: int) -> None:
        super().__init__(redis)
        self._racers = racers
        self._barrier = asyncio.Barrier(racers)

    async def get(self, user_id: str) -> Account | None:
        account = await super().get(user_id)
        if self._racers > 0:
            self._racers -= 1
            async with asyncio.timeout(10):
                await self._barrier.wait()
        return account


async def as_change(number: int, update: Awaitable[Account]) -> Account:
    CHANGE.set(number)  # each gathered change runs in its own task, with its own copy of the context
    return await update


def random_change(rng: random.Random) -> ProfileChange:
    """One to all of the fields, each to one of few values, so concurrent changes often touch the same field."""
    chosen = rng.sample(FIELDS, rng.randint(1, len(FIELDS)))
    prefs = {name.rpartition(".")[2]: rng.choice([True, False]) for name in chosen if name.startswith("notification")}
    return ProfileChange(
        display_name=rng.choice(["Ada", "Grace", "Edsger"]) if "display_name" in chosen else None,
        locale=rng.choice(["en", "de", "fr"]) if "locale" in chosen else None,
        preferences=PreferencesChange(**prefs) if prefs else None,
    )


def profile(account: Account) -> dict[str, object]:
    return {
        "display_name": account.display_name,
        "locale": account.locale,
        "notification_preferences.email_enabled": account.preferences.email_enabled,
        "notification_preferences.push_enabled": account.preferences.push_enabled,
    }


def applied(state: dict[str, object], change: ProfileChange) -> dict[str, object]:
    prefs = change.preferences or PreferencesChange()
    requested = {
        "display_name": change.display_name,
        "locale": change.locale,
        "notification_preferences.email_enabled": prefs.email_enabled,
        "notification_preferences.push_enabled": prefs.push_enabled,
    }
    return state | {name: value for name, value in requested.items() if value is not None}


async def test_concurrent_changes_announce_exactly_what_each_changed(redis: fakeredis.FakeAsyncRedis) -> None:
    ticks = Ticks()
    accounts = Accounts(RacingStore(redis, UPDATES), ticks)
    first, _ = await accounts.resolve("race@example.com")
    rng = random.Random(20250102)
    changes = [random_change(rng) for _ in range(UPDATES)]

    await asyncio.gather(*(as_change(n, accounts.update(first.user_id, c)) for n, c in enumerate(changes)))

    state = profile(first)
    announced = await intents(redis)
    assert len(announced) > 1  # the changes really overlapped: several of them altered the account
    for intent in announced:
        change = changes[ticks.asked_by[intent["occurred_at"]]]  # the change whose write this intent announced
        after = applied(state, change)
        really_changed = [name for name in FIELDS if after[name] != state[name]]
        assert json.loads(intent["params"])["changed_fields"] == ", ".join(really_changed)
        state = after
    final = await accounts.get(first.user_id)
    assert state == profile(final)


async def test_each_change_answers_the_account_as_it_left_it(redis: fakeredis.FakeAsyncRedis) -> None:
    changes = [ProfileChange(display_name=f"Name {n}") for n in range(10)]
    changes += [ProfileChange(locale="de"), ProfileChange(preferences=PreferencesChange(push_enabled=False))]
    accounts = Accounts(RacingStore(redis, len(changes)), Ticks())
    first, _ = await accounts.resolve("answers@example.com")

    results = await asyncio.gather(*(accounts.update(first.user_id, change) for change in changes))

    final = await accounts.get(first.user_id)
    last = max(results, key=lambda account: account.updated_at)
    assert last == final
    assert (final.locale, final.preferences) == ("de", Preferences(email_enabled=True, push_enabled=False))
    assert replace(final, display_name=first.display_name, locale="en", preferences=Preferences()) == replace(
        first, updated_at=final.updated_at
    )


async def test_identical_concurrent_changes_announce_one_change(redis: fakeredis.FakeAsyncRedis) -> None:
    accounts = Accounts(RacingStore(redis, 10), Ticks())
    first, _ = await accounts.resolve("twins@example.com")

    results = await asyncio.gather(
        *(accounts.update(first.user_id, ProfileChange(display_name="Twin")) for _ in range(10))
    )

    assert {result.display_name for result in results} == {"Twin"}
    [intent] = await intents(redis)
    assert json.loads(intent["params"]) == {"changed_fields": "display_name"}


async def test_concurrent_changes_over_http_all_land(
    client: httpx.AsyncClient, account: dict[str, object], redis: fakeredis.FakeAsyncRedis
) -> None:
    path = f"/v1/accounts/{account['user_id']}"
    bodies = [{"display_name": "Http"}, {"locale": "fr"}, {"notification_preferences": {"email_enabled": False}}]

    responses = await asyncio.gather(*(client.patch(path, json=body) for body in bodies))

    assert [r.status_code for r in responses] == [200, 200, 200]
    final = (await client.get(path)).json()
    assert (final["display_name"], final["locale"], final["notification_preferences"]["email_enabled"]) == (
        "Http",
        "fr",
        False,
    )
    assert sorted(json.loads(i["params"])["changed_fields"] for i in await intents(redis)) == [
        "display_name",
        "locale",
        "notification_preferences.email_enabled",
    ]
