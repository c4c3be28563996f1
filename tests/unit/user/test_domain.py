"""Account rules and the service operations, with the ports swapped for in-memory doubles."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from galaxy.user.domain.errors import AccountNotFound, Invalid, StaleAccount, StoreUnavailable
from galaxy.user.domain.model import (
    Account,
    Intent,
    Preferences,
    PreferencesChange,
    ProfileChange,
    new_intent_id,
    new_user_id,
    normalise_email,
)
from galaxy.user.domain.service import Accounts

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


class MemoryStore:
    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.writes: list[tuple[str, list[str]]] = []
        self.published: list[Intent] = []

    async def get(self, user_id: str) -> Account | None:
        return self.accounts.get(user_id)

    async def create_or_get(self, candidate: Account) -> tuple[Account, bool]:
        for account in self.accounts.values():
            if account.email == candidate.email:
                return account, False
        self.accounts[candidate.user_id] = candidate
        return candidate, True

    async def save(
        self, account: Account, attributes: Collection[str], announce: Intent | None = None, *, replacing: Account
    ) -> bool:
        if self.accounts.get(account.user_id) != replacing:
            raise StaleAccount(account.user_id)
        self.writes.append((account.user_id, sorted(attributes)))
        self.accounts[account.user_id] = account
        if announce is not None:
            self.published.append(announce)
        return True


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def accounts(store: MemoryStore) -> Accounts:
    return Accounts(store, Clock())


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [("A@B.C", "a@b.c"), ("  x.y@Example.org\t", "x.y@example.org"), ("ÄNNE@beispiel.de", "änne@beispiel.de")],
)
def test_emails_are_normalised(raw: str, normalised: str) -> None:
    assert normalise_email(raw) == normalised


def test_ids_are_random_hex_of_the_contract_shape() -> None:
    users = {new_user_id() for _ in range(200)}
    intents = {new_intent_id() for _ in range(200)}

    assert len(users) == len(intents) == 200
    assert all(re.fullmatch(r"u_[0-9a-f]{32}", u) for u in users)
    assert all(re.fullmatch(r"i_[0-9a-f]{32}", i) for i in intents)


def test_new_account_defaults() -> None:
    account = Account.new("Mary.Shelley@Example.com", None, T0)

    assert (account.email, account.display_name, account.locale) == ("mary.shelley@example.com", "mary.shelley", "en")
    assert account.preferences == Preferences(email_enabled=True, push_enabled=True)
    assert account.blocked is False
    assert account.created_at == account.updated_at == T0


def test_changed_reports_public_paths_and_stamps_time() -> None:
    account = Account.new("a@b.c", "en", T0)
    later = T0 + timedelta(minutes=1)

    updated, paths = account.changed(
        ProfileChange(locale="de", preferences=PreferencesChange(push_enabled=False)), later
    )

    assert paths == ["locale", "notification_preferences.push_enabled"]
    assert updated.updated_at == later
    assert updated.created_at == T0


def test_changing_to_the_same_values_is_no_change() -> None:
    account = Account.new("a@b.c", "en", T0)

    same, paths = account.changed(ProfileChange(display_name="a", locale="en"), T0 + timedelta(hours=1))

    assert paths == []
    assert same is account


async def test_update_publishes_account_updated(accounts: Accounts, store: MemoryStore) -> None:
    account, _ = await accounts.resolve("p@q.r")

    updated = await accounts.update(account.user_id, ProfileChange(display_name=" Pat "))

    [intent] = store.published
    assert (intent.type, intent.user_id, intent.params) == (
        "account.updated",
        account.user_id,
        {"changed_fields": "display_name"},
    )
    assert intent.occurred_at == updated.updated_at
    assert store.writes == [(account.user_id, ["display_name", "updated_at"])]


async def test_a_no_op_update_writes_and_publishes_nothing(accounts: Accounts, store: MemoryStore) -> None:
    account, _ = await accounts.resolve("p@q.r")

    await accounts.update(account.user_id, ProfileChange(preferences=PreferencesChange(email_enabled=True)))

    assert store.writes == []
    assert store.published == []


async def test_block_writes_only_the_block_fields(accounts: Accounts, store: MemoryStore) -> None:
    account, _ = await accounts.resolve("p@q.r")

    blocked = await accounts.block(account.user_id, " fraud ")

    assert blocked == replace(account, blocked=True, block_reason="fraud", updated_at=blocked.updated_at)
    assert store.writes == [(account.user_id, ["block_reason", "blocked", "updated_at"])]


async def test_reblocking_keeps_updated_at(accounts: Accounts) -> None:
    account, _ = await accounts.resolve("p@q.r")
    first = await accounts.block(account.user_id, "one")

    second = await accounts.block(account.user_id, "two")

    assert second.updated_at == first.updated_at
    assert second.block_reason == "two"


async def test_unblocking_an_unblocked_account_writes_nothing(accounts: Accounts, store: MemoryStore) -> None:
    account, _ = await accounts.resolve("p@q.r")

    assert await accounts.unblock(account.user_id) == account
    assert store.writes == []


class AlwaysOvertaken(MemoryStore):
    """Another change of the account is written between every read and write of this one."""

    async def save(
        self, account: Account, attributes: Collection[str], announce: Intent | None = None, *, replacing: Account
    ) -> bool:
        self.accounts[account.user_id] = replace(replacing, updated_at=replacing.updated_at + timedelta(seconds=1))
        return await super().save(account, attributes, announce, replacing=replacing)


async def test_a_change_always_overtaken_gives_up_as_unavailable() -> None:
    store = AlwaysOvertaken()
    accounts = Accounts(store, Clock())
    account, _ = await accounts.resolve("busy@example.com")

    with pytest.raises(StoreUnavailable):
        await accounts.update(account.user_id, ProfileChange(display_name="Never"))

    assert store.published == []
    assert store.writes == []


async def test_unknown_account(accounts: Accounts) -> None:
    with pytest.raises(AccountNotFound):
        await accounts.get(f"u_{'a' * 32}")


async def test_malformed_id_is_checked_before_the_body(accounts: Accounts) -> None:
    with pytest.raises(Invalid) as invalid:
        await accounts.update("bad", ProfileChange())

    assert list(invalid.value.violations) == ["user_id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (ProfileChange(), "body"),
        (ProfileChange(preferences=PreferencesChange()), "notification_preferences"),
        (ProfileChange(display_name="\u200b\x1b[31m"), "display_name"),
        (ProfileChange(display_name="\t \n"), "display_name"),
        (ProfileChange(locale="xx"), "locale"),
    ],
)
def test_invalid_changes(change: ProfileChange, field: str) -> None:
    with pytest.raises(Invalid) as invalid:
        change.validated()

    assert list(invalid.value.violations) == [field]
