"""The sink's settings, read once from ``GALAXYLAB_SINK_*`` (docs/conventions.md)."""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MAX_MESSAGES = 10_000
DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024


class SinkSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GALAXYLAB_SINK_")

    listen_host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535, description="SMTP")
    api_port: int = Field(ge=1, le=65535, description="HTTP API, /healthz and /metrics")
    service_tokens_file: Path
    log_level: str = "INFO"
    max_messages: int = Field(default=DEFAULT_MAX_MESSAGES, ge=1, le=1_000_000)
    max_message_bytes: int = Field(default=DEFAULT_MAX_MESSAGE_BYTES, ge=1024, le=1024 * 1024 * 1024)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError("must be a logging level such as DEBUG, INFO or WARNING")
        return level
