"""GetMyAccount / UpdateMyAccount through the real gateway against the real User Service."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from galaxy_contracts.gateway import GatewayClient, pb
from galaxy_contracts.http import UserClient
from galaxy_contracts.models import AccountUpdate, NotificationPreferencesUpdate
from tests.harness.rpc import failure, field_violations, names_field
from tests.harness.sessions import User


def view(account: pb.Account) -> dict[str, Any]:
    """What a user can change, as the gateway shows it."""
    return {
        "display_name": account.display_name,
        "locale": account.locale,
        "email_enabled": account.notification_preferences.email_enabled,
        "push_enabled": account.notification_preferences.push_enabled,
    }


def prefs(email: bool, push: bool) -> pb.NotificationPreferences:
    return pb.NotificationPreferences(email_enabled=email, push_enabled=push)


async def test_get_my_account_returns_the_callers_account(gateway: GatewayClient, user: User) -> None:
    account = await gateway.get_my_account(user.token)

    assert (account.user_id, account.email) == (user.account.user_id, user.account.email)


async def test_get_my_account_shows_what_user_service_holds(
    gateway: GatewayClient, users: UserClient, user: User
) -> None:
    changed = AccountUpdate(
        display_name="Set In User Service",
        locale="fr",
        notification_preferences=NotificationPreferencesUpdate(email_enabled=False),
    )
    held = await users.update(user.user_id, changed)

    account = await gateway.get_my_account(user.token)

    assert view(account) == {
        "display_name": held.display_name,
        "locale": held.locale,
        "email_enabled": held.notification_preferences.email_enabled,
        "push_enabled": held.notification_preferences.push_enabled,
    }


UPDATES = [
    pytest.param(["display_name"], pb.Account(display_name="Ada King"), {"display_name": "Ada King"}, id="name"),
    pytest.param(["display_name"], pb.Account(display_name="  Ada  "), {"display_name": "Ada"}, id="name-trimmed"),
    pytest.param(["locale"], pb.Account(locale="de"), {"locale": "de"}, id="locale"),
    pytest.param(
        ["notification_preferences"],
        pb.Account(notification_preferences=prefs(email=False, push=False)),
        {"email_enabled": False, "push_enabled": False},
        id="preferences",
    ),
    pytest.param(
        ["notification_preferences.email_enabled"],
        pb.Account(notification_preferences=prefs(email=False, push=False)),
        {"email_enabled": False},
        id="email-enabled-only",
    ),
    pytest.param(
        ["notification_preferences.push_enabled"],
        pb.Account(notification_preferences=prefs(email=False, push=False)),
        {"push_enabled": False},
        id="push-enabled-only",
    ),
    pytest.param(
        ["display_name", "locale"],
        pb.Account(display_name="Grace", locale="fr"),
        {"display_name": "Grace", "locale": "fr"},
        id="name-and-locale",
    ),
]


@pytest.mark.parametrize(("paths", "changes", "expected"), UPDATES)
async def test_update_changes_exactly_the_masked_fields(
    gateway: GatewayClient, user: User, paths: list[str], changes: pb.Account, expected: dict[str, Any]
) -> None:
    before = view(await gateway.get_my_account(user.token))

    await gateway.update_my_account(user.token, changes, paths)

    assert view(await gateway.get_my_account(user.token)) == before | expected


@pytest.mark.parametrize(("paths", "changes", "expected"), UPDATES)
async def test_update_answers_the_updated_account(
    gateway: GatewayClient, user: User, paths: list[str], changes: pb.Account, expected: dict[str, Any]
) -> None:
    before = view(await gateway.get_my_account(user.token))

    answer = await gateway.update_my_account(user.token, changes, paths)

    assert view(answer) == before | expected


async def test_update_is_stored_in_user_service(gateway: GatewayClient, users: UserClient, user: User) -> None:
    await gateway.update_my_account(user.token, pb.Account(display_name="Stored Name", locale="es"), ["display_name"])

    held = await users.get(user.user_id)

    assert (held.display_name, held.locale) == ("Stored Name", user.account.locale)


INVALID = [
    pytest.param(["display_name"], pb.Account(display_name=""), "display_name", id="name-empty"),
    pytest.param(["display_name"], pb.Account(display_name="   "), "display_name", id="name-blank"),
    pytest.param(["display_name"], pb.Account(display_name="x" * 65), "display_name", id="name-too-long"),
    pytest.param(["display_name"], pb.Account(display_name="bell\x07name"), "display_name", id="name-control-char"),
    pytest.param(["display_name"], pb.Account(display_name="two\nlines"), "display_name", id="name-newline"),
    pytest.param(["locale"], pb.Account(locale="xx"), "locale", id="locale-unknown"),
    pytest.param(["locale"], pb.Account(locale=""), "locale", id="locale-empty"),
    pytest.param(["email"], pb.Account(email="new@lab.example.com"), "update_mask", id="mask-email"),
    pytest.param(["no_such_field"], pb.Account(), "update_mask", id="mask-unknown-path"),
    pytest.param([], pb.Account(display_name="Ignored"), "update_mask", id="mask-empty"),
]


@pytest.mark.parametrize(("paths", "changes", "field"), INVALID)
async def test_invalid_update_is_invalid_argument_naming_the_field(
    gateway: GatewayClient, user: User, paths: list[str], changes: pb.Account, field: str
) -> None:
    error = await failure(gateway.update_my_account(user.token, changes, paths))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert names_field(field_violations(error), field), field_violations(error)


PARTLY_INVALID = [
    pytest.param(["display_name", "locale"], pb.Account(display_name="Fine", locale="xx"), id="bad-locale"),
    pytest.param(["display_name", "locale"], pb.Account(display_name="", locale="de"), id="bad-name"),
    pytest.param(["display_name", "no_such_field"], pb.Account(display_name="Fine"), id="bad-path"),
]


@pytest.mark.parametrize(("paths", "changes"), PARTLY_INVALID)
async def test_partly_invalid_update_changes_nothing(
    gateway: GatewayClient, user: User, paths: list[str], changes: pb.Account
) -> None:
    before = await gateway.get_my_account(user.token)

    error = await failure(gateway.update_my_account(user.token, changes, paths))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert await gateway.get_my_account(user.token) == before
