"""The gateway's settings: environment variables prefixed ``GALAXY_GATEWAY_`` (docs/conventions.md)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from galaxy.common.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GALAXY_GATEWAY_")

    authsession_url: str
    authsession_token_file: Path
    user_url: str
    user_token_file: Path
    token_keys_file: Path
    token_audience: str = "galaxy-gateway"
    downstream_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    # Push events buffered per open Subscribe stream before a slow client is dropped.
    subscription_queue_size: int = Field(default=256, ge=1, le=100_000)
