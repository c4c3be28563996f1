"""Notification Service settings, read once from ``GALAXY_NOTIFICATION_*`` environment variables."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict

from galaxy.common.settings import ServiceSettings

MAX_CONSUMER_NAME = 200


def default_consumer_name() -> str:
    """Unique per process on a host; several hosts have different names."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GALAXY_NOTIFICATION_")

    # No main port: the service only consumes a stream and serves its admin port. Optional (and unused)
    # so the lab's generic wiring may pass one; ServiceSettings makes it required for every HTTP service.
    port: int | None = Field(default=None, ge=1, le=65535)  # type: ignore[assignment]
    user_url: str
    user_token_file: Path
    downstream_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    # An unacknowledged intent is reclaimed by any consumer once it has been idle this long.
    reclaim_min_idle_ms: int = Field(default=15_000, ge=0, le=86_400_000)
    # Deliveries (XPENDING's count) after which a still failing intent is dead-lettered as poison.
    max_deliveries: int = Field(default=20, ge=1, le=1000)
    dedupe_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=1)
    consumer_name: str = Field(default_factory=default_consumer_name, min_length=1, max_length=MAX_CONSUMER_NAME)
    # Below the Redis client's socket timeout (2 s, galaxy.common.redis) or a quiet stream would time out the read.
    block_ms: int = Field(default=1000, ge=1, le=1500)
    batch: int = Field(default=50, ge=1, le=1000)

    @field_validator("dedupe_ttl_seconds")
    @classmethod
    def _dedupe_outlives_redelivery(cls, ttl: int, info: ValidationInfo) -> int:
        window_ms = info.data.get("max_deliveries", 0) * info.data.get("reclaim_min_idle_ms", 0)
        if ttl * 1000 <= window_ms:
            raise ValueError(
                "must outlive redelivery (MAX_DELIVERIES x RECLAIM_MIN_IDLE_MS), or a redelivered intent "
                "could be sent twice"
            )
        return ttl
