"""The stub's settings, read once from ``GALAXYLAB_STUB_*`` (docs/conventions.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import SettingsConfigDict

from galaxy.common.settings import ProgramSettings

Kind = Literal["user", "mail"]


class Settings(ProgramSettings):
    model_config = SettingsConfigDict(env_prefix="GALAXYLAB_STUB_")

    kind: Kind
    service_tokens_file: Path
    operator_token_file: Path | None = None
    """The boundary's ``operator.token``, as Mail Service reads it; the mail stub's operator surface needs it."""
