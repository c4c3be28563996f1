"""Mail Service settings, read once from ``GALAXY_MAIL_*`` environment variables."""

from __future__ import annotations

import socket
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from galaxy.common.settings import ServiceSettings

DAY = 86400.0
# RFC 5321 §4.5.4.1: wait at least 30 minutes before the first retry, give up after 4-5 days.
RFC5321_SCHEDULE = (1800.0, 3600.0, 7200.0, 14400.0)
SMTP_PHASES = 3
"""A send is connect + (STARTTLS, AUTH) + the mail transaction: its whole budget is this many timeouts."""


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GALAXY_MAIL_")

    service_tokens_file: Path
    operator_token_file: Path
    provider: Literal["smtp", "stub"] = "smtp"
    from_address: str = "Galaxy <no-reply@galaxy.invalid>"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_tls: bool = False
    """Implicit TLS (SMTPS): the connection is TLS from its first byte, the server verified with ``TLS_CA_FILE``
    (unset: the system's CAs); STARTTLS verifies with the same."""
    smtp_username: str | None = None
    smtp_password_file: Path | None = None
    smtp_timeout_seconds: float = Field(30.0, gt=0)

    # Delay before each retry (comma-separated seconds); the last one repeats until the lifetime ends.
    retry_schedule_seconds: Annotated[tuple[float, ...], NoDecode] = RFC5321_SCHEDULE
    delivery_lifetime_seconds: float = Field(4 * DAY, gt=0)
    retention_seconds: float = Field(7 * DAY, gt=0)
    """How long an ended delivery (and its idempotency key) stays visible."""

    send_concurrency: int = Field(4, ge=1, le=64)
    lease_seconds: float = Field(300.0, gt=0)
    """An instance that holds a delivery this long without finishing it is presumed dead; it is sent again."""
    poll_interval_seconds: float = Field(0.5, gt=0, le=60)
    stream_block_seconds: float = Field(1.0, gt=0, le=1.5)
    stream_reclaim_idle_seconds: float = Field(60.0, gt=0)
    stream_max_deliveries: int = Field(5, ge=1)
    instance_name: str = Field("", max_length=200)
    """Consumer name in group ``mail`` and owner of its leases; default ``<hostname>-<port>`` (stable over restarts)."""

    @field_validator("retry_schedule_seconds", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("retry_schedule_seconds")
    @classmethod
    def _positive_delays(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(delay <= 0 for delay in value):
            raise ValueError("must be one or more positive numbers of seconds, comma-separated")
        return value

    @field_validator("from_address")
    @classmethod
    def _one_address(cls, value: str) -> str:
        name, address = parseaddr(value)
        try:
            Address(display_name=name, addr_spec=address)
        except (ValueError, IndexError) as exc:
            raise ValueError("must be an e-mail address, optionally with a display name") from exc
        if "@" not in address:
            raise ValueError("must be an e-mail address, optionally with a display name")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.smtp_tls and self.smtp_starttls:
            raise ValueError("SMTP_TLS and SMTP_STARTTLS exclude each other (TLS from the start, or upgraded)")
        if (self.smtp_username is None) != (self.smtp_password_file is None):
            raise ValueError("SMTP_USERNAME and SMTP_PASSWORD_FILE go together")
        if self.lease_seconds <= SMTP_PHASES * self.smtp_timeout_seconds:
            raise ValueError(f"LEASE_SECONDS must exceed {SMTP_PHASES} x SMTP_TIMEOUT_SECONDS (one send's budget)")
        if not self.instance_name:
            self.instance_name = f"{socket.gethostname()}-{self.port}"
        return self

    @property
    def sender_domain(self) -> str:
        return parseaddr(self.from_address)[1].rpartition("@")[2]
