"""Pydantic models of the HTTP contracts' bodies (contracts/http/*.openapi.yaml)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import email_validator
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Locale = Literal["en", "de", "fr", "es"]
LOCALES: tuple[str, ...] = ("en", "de", "fr", "es")


def _email(value: str) -> str:
    """RFC 5322 addr-spec with a dotted domain; ``.test`` (RFC 2606) allowed for labs."""
    try:
        checked = email_validator.validate_email(value.strip(), check_deliverability=False, test_environment=True)
        return checked.normalized
    except email_validator.EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc


EmailStr = Annotated[str, AfterValidator(_email)]

USER_ID_PATTERN = r"^u_[0-9a-f]{32}$"
SESSION_ID_PATTERN = r"^s_[0-9a-f]{32}$"
CHALLENGE_ID_PATTERN = r"^c_[0-9a-f]{32}$"
DELIVERY_ID_PATTERN = r"^d_[0-9a-f]{32}$"


class Strict(BaseModel):
    """Request bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """RFC 9457 problem details with Galaxy's stable ``code``."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldViolation] | None = None
    remaining_attempts: int | None = None
    """Wrong login codes the challenge still accepts (``invalid_code`` only)."""


class FieldViolation(BaseModel):
    field: str
    message: str


# --- user v1 ---------------------------------------------------------------


class NotificationPreferences(Strict):
    email_enabled: bool = True
    push_enabled: bool = True


class NotificationPreferencesUpdate(Strict):
    email_enabled: bool | None = None
    push_enabled: bool | None = None


class Account(Strict):
    user_id: str = Field(pattern=USER_ID_PATTERN)
    email: str
    display_name: str
    locale: Locale
    notification_preferences: NotificationPreferences
    blocked: bool
    created_at: datetime
    updated_at: datetime


class ResolveRequest(Strict):
    email: EmailStr = Field(max_length=254)
    locale: Locale | None = None


class ResolveResponse(Strict):
    account: Account
    created: bool


class AccountUpdate(Strict):
    display_name: str | None = Field(default=None, min_length=1, max_length=64)
    locale: Locale | None = None
    notification_preferences: NotificationPreferencesUpdate | None = None


class BlockRequest(Strict):
    reason: str = Field(min_length=1, max_length=200)


# --- authsession v1 ----------------------------------------------------------


class StartChallengeRequest(Strict):
    email: EmailStr = Field(max_length=254)
    locale: Locale | None = None


class Challenge(Strict):
    challenge_id: str = Field(pattern=CHALLENGE_ID_PATTERN)
    expires_at: datetime


class ConfirmRequest(Strict):
    code: str = Field(pattern=r"^[0-9]{6}$")


class Session(Strict):
    session_token: str
    session_id: str = Field(pattern=SESSION_ID_PATTERN)
    user_id: str = Field(pattern=USER_ID_PATTERN)
    new_account: bool
    expires_at: datetime


class SessionInfo(Strict):
    session_id: str
    user_id: str
    expires_at: datetime


class PublicKey(Strict):
    kid: str
    alg: Literal["EdDSA"] = "EdDSA"
    public_key_pem: str


class KeySet(Strict):
    keys: list[PublicKey]


# --- mail v1 -------------------------------------------------------------------

DeliveryStatus = Literal["queued", "retrying", "sent", "recorded", "failed"]


class DeliveryRequest(Strict):
    to: EmailStr = Field(max_length=254)
    template: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
    locale: Locale = "en"
    params: dict[str, Any] = Field(max_length=32)


class Delivery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    delivery_id: str = Field(pattern=DELIVERY_ID_PATTERN)
    status: DeliveryStatus
    to: str
    template: str
    created_at: datetime
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None


AttemptOutcome = Literal["sent", "recorded", "transient_failure", "permanent_failure", "expired", "render_failed"]


class DeliveryAttempt(BaseModel):
    model_config = ConfigDict(extra="ignore")

    attempt: int = Field(ge=1)
    at: datetime
    outcome: AttemptOutcome
    detail: str | None = None


class RenderedDelivery(Delivery):
    subject: str
    text_body: str
    html_body: str | None = None
    source: Literal["http", "stream"] = "http"
    intent_id: str | None = None
    locale: str | None = None
    message_id: str | None = None
    history: list[DeliveryAttempt] = Field(default_factory=list)


class DeliveryList(BaseModel):
    deliveries: list[RenderedDelivery]


class DeliveryQuery(BaseModel):
    """The filters of ``GET /v1/operator/deliveries`` (query parameters; unknown ones are ignored)."""

    model_config = ConfigDict(extra="ignore")

    to: EmailStr | None = Field(None, max_length=254)
    template: str | None = Field(None, max_length=128)
    status: DeliveryStatus | None = None
    limit: int = Field(50, ge=1, le=200)
