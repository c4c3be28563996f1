"""Settings base: every service reads its environment once, at start."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings


class ServiceSettings(BaseSettings):
    """What every service has. Subclasses set ``env_prefix`` (``GALAXY_<SERVICE>_``)."""

    listen_host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    admin_port: int = Field(ge=1, le=65535)
    redis_url: str = "redis://127.0.0.1:6379/0"
    log_level: str = "INFO"


def read_secret(path: Path) -> str:
    """A secret file's content without surrounding whitespace."""
    value = path.read_text().strip()
    if not value:
        raise ValueError(f"secret file {path} is empty")
    return value


def read_service_tokens(path: Path) -> dict[str, str]:
    """The boundary's ``service-tokens.json``: ``{caller: token}``."""
    tokens = json.loads(path.read_text())
    if not isinstance(tokens, dict) or not all(isinstance(v, str) and v for v in tokens.values()):
        raise ValueError(f"{path} must be a JSON object of non-empty strings")
    return tokens
