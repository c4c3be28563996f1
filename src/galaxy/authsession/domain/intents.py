"""Notification intents authsession produces (contracts/streams/notification-intent.schema.json)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

WELCOME = "account.welcome"


def new_intent_id() -> str:
    return "i_" + secrets.token_hex(16)


@dataclass(frozen=True)
class Intent:
    intent_id: str
    type: str
    user_id: str
    occurred_at: float
    params: dict[str, Any] = field(default_factory=dict)


def account_welcome(user_id: str, *, now: float) -> Intent:
    return Intent(new_intent_id(), WELCOME, user_id, occurred_at=now)
