"""The gateway's rules without the network: error mapping, deadlines, field masks, cursors, fan-out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from galaxy.gateway.domain.errors import (
    GatewayError,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    ServiceUnavailable,
    WrongCode,
    from_api_error,
)
from galaxy.gateway.domain.model import AccountValues, StreamId, account_update, downstream_budget, parse_cursor
from galaxy.gateway.domain.service import PushHub
from galaxy_contracts.http import ApiError
from galaxy_contracts.models import Problem

USER = "u_" + "a" * 32
OTHER = "u_" + "b" * 32


def api_error(status: int, code: str, service: str = "authsession", **extra: Any) -> ApiError:
    return ApiError(service, Problem(title="t", status=status, code=code, detail="d", **extra))


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, "malformed_body", InvalidArgument),
        (422, "validation_failed", InvalidArgument),
        (401, "invalid_code", WrongCode),
        (401, "unauthorized", ServiceUnavailable),
        (403, "account_blocked", PermissionDenied),
        (404, "challenge_not_found", NotFound),
        (429, "too_many_attempts", ResourceExhausted),
        (409, "conflict", ServiceUnavailable),
    ],
)
def test_downstream_problems_map_to_the_proto_error_contract(
    status: int, code: str, expected: type[GatewayError]
) -> None:
    assert type(from_api_error(api_error(status, code))) is expected


def test_field_errors_are_placed_inside_the_request_message() -> None:
    error = from_api_error(
        api_error(422, "validation_failed", "user", errors=[{"field": "body.locale", "message": "bad"}]),
        field_prefix="account.",
    )

    assert isinstance(error, InvalidArgument)
    assert [(v.field, v.description) for v in error.violations] == [("account.locale", "bad")]
    assert "account.locale: bad" in error.message


def test_remaining_attempts_come_from_the_problem_extension() -> None:
    error = from_api_error(api_error(401, "invalid_code", remaining_attempts=3))

    assert isinstance(error, WrongCode)
    assert error.remaining_attempts == 3


@pytest.mark.parametrize(("configured", "remaining", "expected"), [(2, None, 2), (2, 10, 2), (2, 1, 0.8), (2, -1, 0)])
def test_the_downstream_budget_is_the_smaller_of_setting_and_caller_deadline(
    configured: float, remaining: float | None, expected: float
) -> None:
    assert downstream_budget(configured, remaining) == pytest.approx(expected)


def test_mask_paths_select_fields_and_their_preference_children() -> None:
    update = account_update(
        ["notification_preferences.push_enabled", "locale"], AccountValues(display_name="x", locale="de")
    )

    assert update.model_dump(exclude_none=True) == {"locale": "de", "notification_preferences": {"push_enabled": False}}


def test_every_unknown_path_is_named() -> None:
    with pytest.raises(InvalidArgument) as caught:
        account_update(["email", "locale", "blocked"], AccountValues(locale="de"))

    assert [v.description.split("'")[1] for v in caught.value.violations] == ["email", "blocked"]


def test_stream_ids_order_numerically_not_lexically() -> None:
    assert StreamId.parse("10-0") > StreamId.parse("9-5") > StreamId.parse("9-4")
    assert str(StreamId.parse("1700000000000-12")) == "1700000000000-12"
    assert parse_cursor("") is None


@pytest.mark.parametrize("cursor", ["x", "1-", "-1", "1-1-1", " 1-1", "18446744073709551616-0"])
def test_malformed_cursors_are_invalid_argument(cursor: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_cursor(cursor)


def fields(user_id: str, n: int = 0) -> dict[str, str]:
    return {
        "intent_id": "i_" + f"{n:032x}",
        "type": "account.welcome",
        "user_id": user_id,
        "title": "t",
        "body": "b",
        "data": json.dumps({}),
        "created_at": "2025-01-01T00:00:00Z",
    }


async def test_the_hub_routes_by_user_and_drops_a_full_subscription() -> None:
    drops: list[int] = []
    hub = PushHub(queue_size=2, on_drop=lambda: drops.append(1))
    slow, other = hub.open(USER), hub.open(OTHER)

    for n in range(3):
        hub.dispatch(f"1-{n}", fields(USER, n))

    assert drops == [1]
    assert hub.open_count == 1
    with pytest.raises(ResourceExhausted):
        await slow.next()
    hub.dispatch("2-0", fields(OTHER))
    assert str((await other.next()).event_id) == "2-0"


async def test_shutdown_ends_every_subscription_with_unavailable() -> None:
    hub = PushHub(queue_size=2)
    subscription = hub.open(USER)

    hub.shutdown()

    with pytest.raises(ServiceUnavailable):
        await subscription.next()
