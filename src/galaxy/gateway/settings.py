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
    # The limits of the public API (the proto's header): StartLogin calls per client address per fixed
    # window, counted in Redis so every gateway of the deployment shares them.
    peer_login_starts_per_window: int = Field(default=30, ge=1, le=1_000_000)
    peer_login_window_seconds: int = Field(default=60, ge=1, le=86_400)
    # Open Subscribe streams per user in this process.
    subscriptions_per_user: int = Field(default=10, ge=1, le=10_000)
    # Largest request gRPC accepts; a bigger one is RESOURCE_EXHAUSTED before any RPC runs.
    max_request_bytes: int = Field(default=64 * 1024, ge=1024, le=4 * 1024 * 1024)
    # Time for one unary RPC even when the client sets no deadline (downstream calls get most of it).
    rpc_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
