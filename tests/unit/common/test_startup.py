"""Start-up: settings and secrets loaded, or one clear line naming the fault and exit 1 (never a value)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from galaxy.common.serve import load_or_exit, load_settings
from galaxy.common.settings import (
    ConfigError,
    ServiceSettings,
    read_secret,
    read_service_tokens,
    read_setting_file,
)

SECRET = "hunter2-not-for-logs"


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GALAXY_DEMO_")

    token_file: Path
    retries: int = Field(default=3, ge=0)


def refusal(caplog: pytest.LogCaptureFixture, exited: pytest.ExceptionInfo[SystemExit]) -> str:
    """The one logged line, after checking the exit status."""
    assert exited.value.code == 1
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    message = record.getMessage()
    assert "\n" not in message
    assert record.exc_info is None
    return message


def test_missing_and_invalid_settings_are_named_by_variable(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("GALAXY_DEMO_PORT", "not-a-port")
    monkeypatch.setenv("GALAXY_DEMO_ADMIN_PORT", "8001")
    monkeypatch.setenv("GALAXY_DEMO_RETRIES", f"-1{SECRET}")

    with pytest.raises(SystemExit) as exited:
        load_settings("galaxy-demo", DemoSettings)

    message = refusal(caplog, exited)
    assert message.startswith("galaxy-demo cannot start: bad settings: ")
    for name in ("GALAXY_DEMO_PORT", "GALAXY_DEMO_TOKEN_FILE", "GALAXY_DEMO_RETRIES"):
        assert name in message
    assert "GALAXY_DEMO_ADMIN_PORT" not in message
    assert SECRET not in message


def test_good_settings_load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {"PORT": "8000", "ADMIN_PORT": "8001", "TOKEN_FILE": str(tmp_path / "t")}.items():
        monkeypatch.setenv(f"GALAXY_DEMO_{name}", value)

    assert load_settings("galaxy-demo", DemoSettings).token_file == tmp_path / "t"


@pytest.fixture
def settings(tmp_path: Path) -> DemoSettings:
    return DemoSettings(port=8000, admin_port=8001, token_file=tmp_path / "token")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot read"),
        ("  \n", "is empty"),
        (b"\xff" + SECRET.encode(), "not UTF-8"),
    ],
    ids=["missing", "empty", "binary"],
)
def test_an_unusable_secret_file_is_named_by_its_variable_and_path(
    settings: DemoSettings, content: str | bytes | None, reason: str
) -> None:
    if isinstance(content, str):
        settings.token_file.write_text(content)
    elif isinstance(content, bytes):
        settings.token_file.write_bytes(content)

    with pytest.raises(ConfigError) as refused:
        read_setting_file(settings, "token_file", read_secret)

    assert str(refused.value).startswith("GALAXY_DEMO_TOKEN_FILE: ")
    assert str(settings.token_file) in str(refused.value)
    assert reason in str(refused.value)
    assert SECRET not in str(refused.value)


@pytest.mark.parametrize("content", [f'{{"lab": {SECRET}', f'["{SECRET}"]'], ids=["not-json", "not-an-object"])
def test_a_malformed_tokens_file_never_quotes_its_content(settings: DemoSettings, content: str) -> None:
    settings.token_file.write_text(content)

    with pytest.raises(ConfigError) as refused:
        read_setting_file(settings, "token_file", read_service_tokens)

    assert "GALAXY_DEMO_TOKEN_FILE" in str(refused.value)
    assert SECRET not in str(refused.value)


def test_a_parser_failure_names_the_file_not_the_parsers_message(settings: DemoSettings) -> None:
    def parse(_: Path) -> str:
        raise TypeError(f"cannot use {SECRET!r}")

    with pytest.raises(ConfigError) as refused:
        read_setting_file(settings, "token_file", parse)

    assert str(refused.value) == f"GALAXY_DEMO_TOKEN_FILE: {settings.token_file} is not usable (TypeError)"


@pytest.mark.parametrize(
    "error",
    [ConfigError("GALAXY_DEMO_TOKEN_FILE: /x is empty"), FileNotFoundError(2, "No such file or directory", "/x")],
    ids=["config-error", "os-error"],
)
def test_load_or_exit_logs_one_line_and_exits_1(caplog: pytest.LogCaptureFixture, error: Exception) -> None:
    def load() -> None:
        raise error

    with pytest.raises(SystemExit) as exited:
        load_or_exit("galaxy-demo", load)

    message = refusal(caplog, exited)
    assert message.startswith("galaxy-demo cannot start: ")
    assert "/x" in message


def test_load_or_exit_returns_what_loaded() -> None:
    assert load_or_exit("galaxy-demo", lambda: 42) == 42


def test_a_bug_while_loading_is_not_disguised_as_configuration() -> None:
    def load() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        load_or_exit("galaxy-demo", load)
