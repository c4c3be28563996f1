"""Settings base: every service reads its environment once, at start."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

T = TypeVar("T")


class ListenerSettings(BaseSettings):
    """What every program started through ``galaxy.common.serve.run_service`` has; its ports are its own."""

    listen_host: str = "127.0.0.1"
    log_level: str = "INFO"
    # TLS (galaxy.common.tls): the main port's certificate and key (both or neither), and the CA the
    # program's clients verify https:// and rediss:// servers with (unset: the system's).
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_ca_file: Path | None = None

    def listening(self) -> dict[str, object]:
        """Where it listens, for its start-up log line."""
        return {"listen_host": self.listen_host}


class ProgramSettings(ListenerSettings):
    """A program with a main port and an admin port (services and the lab's stubs)."""

    port: int = Field(ge=1, le=65535)
    admin_port: int = Field(ge=1, le=65535)

    def listening(self) -> dict[str, object]:
        return super().listening() | {"port": self.port, "admin_port": self.admin_port}


class ServiceSettings(ProgramSettings):
    """What every service has. Subclasses set ``env_prefix`` (``GALAXY_<SERVICE>_``).

    The boundary's Redis is reached as the service's own ACL user (``redis_username``), its password read
    from ``redis_password_file`` by ``galaxy.common.redis.connect_service``; never a password in the URL.
    """

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_username: str | None = None
    redis_password_file: Path | None = None
    # The client's connection pool: at most this many connections; a command that finds them all busy
    # waits up to ``redis_pool_timeout`` seconds for one (then a ConnectionError), never fails at once.
    redis_max_connections: int = Field(default=50, ge=1)
    redis_pool_timeout: float = Field(default=5.0, gt=0)

    @field_validator("redis_url")
    @classmethod
    def _no_password_in_url(cls, url: str) -> str:
        if urlsplit(url).password is not None:
            raise ValueError("must not carry a password: use REDIS_USERNAME and REDIS_PASSWORD_FILE")
        return url


class ConfigError(ValueError):
    """A setting or secret file that keeps a program from starting; the message names it, never its content."""


def read_secret(path: Path) -> str:
    """A secret file's content without surrounding whitespace."""
    value = _read_text(path).strip()
    if not value:
        raise ConfigError(f"secret file {path} is empty")
    return value


def read_service_tokens(path: Path) -> dict[str, str]:
    """The boundary's ``service-tokens.json``: ``{caller: token}``."""
    try:
        tokens = json.loads(_read_text(path))
    except json.JSONDecodeError:
        raise ConfigError(f"{path} is not JSON") from None
    if not isinstance(tokens, dict) or not all(isinstance(v, str) and v for v in tokens.values()):
        raise ConfigError(f"{path} must be a JSON object of non-empty strings")
    return tokens


def _read_text(path: Path) -> str:
    try:
        return path.read_text()
    except UnicodeDecodeError:  # its message would quote the file's bytes
        raise ConfigError(f"{path} is not UTF-8 text") from None


def read_setting_file(settings: BaseSettings, field: str, read: Callable[[Path], T]) -> T:
    """``read`` the file named by the setting ``field``; any failure is a ``ConfigError`` naming the
    environment variable and the path, never the content (a parser's message may quote it)."""
    path: Path = getattr(settings, field)
    name = f"{settings.model_config.get('env_prefix', '')}{field}".upper()
    try:
        return read(path)
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except ConfigError as exc:
        raise ConfigError(f"{name}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - whatever the parser raised, the file is unusable
        raise ConfigError(f"{name}: {path} is not usable ({type(exc).__name__})") from None
