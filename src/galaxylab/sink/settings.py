"""The sink's settings, read once from ``GALAXYLAB_SINK_*`` (docs/conventions.md)."""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from galaxy.common.settings import ListenerSettings

DEFAULT_MAX_MESSAGES = 10_000
DEFAULT_MAX_MESSAGE_BYTES = 10 * 1024 * 1024


class SinkSettings(ListenerSettings):
    model_config = SettingsConfigDict(env_prefix="GALAXYLAB_SINK_")

    port: int = Field(ge=1, le=65535, description="SMTP")
    api_port: int = Field(ge=1, le=65535, description="HTTP API, /healthz and /metrics")
    service_tokens_file: Path
    max_messages: int = Field(default=DEFAULT_MAX_MESSAGES, ge=1, le=1_000_000)
    max_message_bytes: int = Field(default=DEFAULT_MAX_MESSAGE_BYTES, ge=1024, le=1024 * 1024 * 1024)

    def listening(self) -> dict[str, object]:
        return super().listening() | {"port": self.port, "api_port": self.api_port}

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in logging.getLevelNamesMapping():
            raise ValueError("must be a logging level such as DEBUG, INFO or WARNING")
        return level
