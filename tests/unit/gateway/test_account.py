"""GetMyAccount / UpdateMyAccount through the gateway to User Service, with the field mask honoured."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import grpc
import httpx
import pytest

from galaxy_contracts.gateway import bearer, pb
from tests.harness.rpc import failure, field_violations
from tests.unit.gateway.fakes import problem
from tests.unit.gateway.helpers import Lab


async def update(lab: Lab, token: str, paths: list[str], **account: Any) -> pb.Account:
    request = pb.UpdateMyAccountRequest(account=pb.Account(**account))
    request.update_mask.paths.extend(paths)
    return await lab.stub.UpdateMyAccount(request, metadata=bearer(token), timeout=5)


@pytest.fixture
async def token(lab: Lab) -> str:
    session = await lab.login("ada@example.com")
    return str(session["session_token"])


async def test_get_my_account_maps_every_field(lab: Lab, token: str) -> None:
    account = await lab.stub.GetMyAccount(pb.GetMyAccountRequest(), metadata=bearer(token), timeout=5)
    stored = next(iter(lab.users.accounts.values()))

    assert account.user_id == stored["user_id"]
    assert (account.email, account.display_name, account.locale) == ("ada@example.com", "Ada", "en")
    assert account.notification_preferences == pb.NotificationPreferences(email_enabled=True, push_enabled=True)
    assert account.created_at.ToDatetime(tzinfo=UTC) == datetime.fromisoformat(stored["created_at"])


@pytest.mark.parametrize(
    ("paths", "account", "sent"),
    [
        (["display_name"], {"display_name": "Grace", "locale": "fr"}, {"display_name": "Grace"}),
        (["locale"], {"display_name": "ignored", "locale": "fr"}, {"locale": "fr"}),
        (
            ["notification_preferences.push_enabled"],
            {"notification_preferences": pb.NotificationPreferences(email_enabled=False, push_enabled=False)},
            {"notification_preferences": {"push_enabled": False}},
        ),
        (
            ["notification_preferences"],
            {"notification_preferences": pb.NotificationPreferences(email_enabled=False, push_enabled=True)},
            {"notification_preferences": {"email_enabled": False, "push_enabled": True}},
        ),
        (
            ["display_name", "notification_preferences.email_enabled"],
            {"display_name": "Grace", "notification_preferences": pb.NotificationPreferences(email_enabled=False)},
            {"display_name": "Grace", "notification_preferences": {"email_enabled": False}},
        ),
    ],
    ids=["display_name", "locale", "one-preference", "all-preferences", "two-paths"],
)
async def test_update_sends_only_the_masked_fields(
    lab: Lab, token: str, paths: list[str], account: dict[str, Any], sent: dict[str, Any]
) -> None:
    updated = await update(lab, token, paths, **account)

    call = lab.users.requests[-1]
    assert (call.method, call.body) == ("PATCH", sent)
    stored = next(iter(lab.users.accounts.values()))
    assert updated.display_name == stored["display_name"]
    assert updated.locale == stored["locale"]
    assert updated.notification_preferences.email_enabled == stored["notification_preferences"]["email_enabled"]


async def test_an_empty_mask_is_invalid_argument_naming_update_mask(lab: Lab, token: str) -> None:
    error = await failure(update(lab, token, [], display_name="Grace"))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(field_violations(error)) == ["update_mask"]
    assert "update_mask" in error.details()
    assert [r.method for r in lab.users.requests] == []


@pytest.mark.parametrize("path", ["email", "user_id", "notification_preferences.sms_enabled", "Display_Name", ""])
async def test_an_unknown_path_is_invalid_argument_naming_it(lab: Lab, token: str, path: str) -> None:
    error = await failure(update(lab, token, ["display_name", path], display_name="Grace"))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(error)
    assert f"'{path}'" in violations["update_mask.paths"]
    assert f"'{path}'" in error.details()
    assert lab.users.requests == []


@pytest.mark.parametrize(
    ("paths", "account", "field"),
    [
        (["display_name"], {"display_name": ""}, "account.display_name"),
        (["display_name"], {"display_name": "x" * 65}, "account.display_name"),
        (["locale"], {"locale": "xx"}, "account.locale"),
        (["locale"], {}, "account.locale"),
    ],
    ids=["empty-name", "long-name", "bad-locale", "unset-locale"],
)
async def test_invalid_masked_values_are_refused_before_user_service(
    lab: Lab, token: str, paths: list[str], account: dict[str, Any], field: str
) -> None:
    error = await failure(update(lab, token, paths, **account))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(field_violations(error)) == [field]
    assert lab.users.requests == []


async def test_user_service_field_errors_become_violations_inside_account(lab: Lab, token: str) -> None:
    errors = [{"field": "display_name", "message": "contains control characters"}]
    lab.users.refuse_updates = problem(422, "validation_failed", "one or more fields are invalid", errors=errors)

    error = await failure(update(lab, token, ["display_name"], display_name="bad\u0007name"))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(error) == {"account.display_name": "contains control characters"}


async def test_a_missing_account_is_not_found(lab: Lab, token: str) -> None:
    lab.users.accounts.clear()

    error = await failure(lab.stub.GetMyAccount(pb.GetMyAccountRequest(), metadata=bearer(token), timeout=5))

    assert error.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    "fault",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), problem(503, "x")],
    ids=["down", "timeout", "503"],
)
async def test_user_service_failures_are_unavailable_naming_user(
    lab: Lab, token: str, fault: httpx.Response | Exception
) -> None:
    lab.users.override = fault

    error = await failure(lab.stub.GetMyAccount(pb.GetMyAccountRequest(), metadata=bearer(token), timeout=5))

    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert error.details().startswith("user unavailable")


@pytest.mark.parametrize("gateway_options", [{"downstream_timeout_seconds": 0.2}])
async def test_a_hanging_user_service_is_unavailable_within_the_deadline(lab: Lab, token: str) -> None:
    lab.users.hang = True

    error = await failure(update(lab, token, ["display_name"], display_name="Grace"))

    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert error.details() == "user unavailable: no answer within 0.20s"


# --- an account blocked after its session was opened ----------------------------------------------


@pytest.fixture
def blocked(lab: Lab, token: str) -> dict[str, Any]:
    """The caller's account, blocked in User Service after login: the session itself is still valid."""
    stored = next(iter(lab.users.accounts.values()))
    stored["blocked"] = True
    return stored


async def test_a_blocked_account_cannot_read_itself(lab: Lab, token: str, blocked: dict[str, Any]) -> None:
    error = await failure(lab.stub.GetMyAccount(pb.GetMyAccountRequest(), metadata=bearer(token), timeout=5))

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == "account is blocked"


async def test_a_blocked_account_cannot_update_itself_and_nothing_is_sent(
    lab: Lab, token: str, blocked: dict[str, Any]
) -> None:
    error = await failure(update(lab, token, ["display_name"], display_name="Mallory"))

    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert error.details() == "account is blocked"
    assert [r.method for r in lab.users.requests] == ["GET"]
    assert blocked["display_name"] == "Ada"


async def test_an_update_of_an_unblocked_account_checks_it_first(lab: Lab, token: str) -> None:
    await update(lab, token, ["locale"], locale="de")

    assert [r.method for r in lab.users.requests] == ["GET", "PATCH"]
