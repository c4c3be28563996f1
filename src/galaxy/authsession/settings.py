"""Settings of galaxy-authsession, read once from ``GALAXY_AUTHSESSION_*`` (docs/conventions.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from galaxy.common.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GALAXY_AUTHSESSION_", extra="ignore")

    service_tokens_file: Path
    user_url: str
    user_token_file: Path
    mail_url: str
    mail_token_file: Path
    signing_key_file: Path
    signing_kid: str = Field(min_length=1)
    token_audience: str = "galaxy-gateway"
    session_ttl_seconds: int = Field(default=3600, ge=1)
    challenge_ttl_seconds: int = Field(default=600, ge=1)
    challenge_max_attempts: int = Field(default=5, ge=1)
    # Challenges one e-mail address may start per fixed window: each start mails a code and brings fresh attempts.
    challenge_starts_per_window: int = Field(default=5, ge=1)
    challenge_start_window_seconds: int = Field(default=600, ge=1)
    downstream_timeout_seconds: float = Field(default=2.0, gt=0)
    # The welcome outbox relay: how often it looks for notes a confirm left behind (contracts/redis/keys.md),
    # and how far User Service's clock may lag ours when it judges whether an account is new.
    welcome_relay_interval_seconds: float = Field(default=5.0, gt=0)
    welcome_clock_skew_seconds: int = Field(default=3600, ge=0)
