"""The stub's settings, read once from ``GALAXYLAB_STUB_*`` (docs/conventions.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

Kind = Literal["user", "mail"]


class StubSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GALAXYLAB_STUB_")

    kind: Kind
    listen_host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    admin_port: int = Field(ge=1, le=65535)
    log_level: str = "INFO"
    service_tokens_file: Path
