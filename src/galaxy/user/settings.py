"""User Service settings, read once from ``GALAXY_USER_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from galaxy.common.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GALAXY_USER_")

    service_tokens_file: Path
