"""Loading a boundary's manifest: the documented shape, the state dir override, skip or fail without a lab."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.harness import manifest as lab_manifest

EXAMPLE: dict[str, Any] = {
    "boundary": "gatewayauthsession",
    "redis": {"url": "redis://127.0.0.1:21100/0", "mode": "ephemeral", "host": "localhost", "program": "g-redis"},
    "components": {
        "gateway": {
            "kind": "gateway",
            "host": "localhost",
            "address": "127.0.0.1",
            "program": "gatewayauthsession-gateway",
            "endpoint": "127.0.0.1:21110",
            "admin_url": "http://127.0.0.1:21111",
            "log": "/opt/galaxylab/log/gatewayauthsession/gateway.log",
            "port": 21110,
        },
        "authsession": {
            "kind": "authsession",
            "host": "localhost",
            "address": "127.0.0.1",
            "program": "gatewayauthsession-authsession",
            "url": "http://127.0.0.1:21120",
            "admin_url": "http://127.0.0.1:21121",
            "log": "/opt/galaxylab/log/gatewayauthsession/authsession.log",
            "settings": {"CHALLENGE_TTL_SECONDS": "5"},
        },
    },
    "hosts": {"localhost": {"testinfra": "local://", "supervisorctl": "supervisorctl -c /x.conf", "root": "/opt"}},
    "secrets": {
        "dir": "/s",
        "host": "localhost",
        "service_tokens": "/s/service-tokens.json",
        "signing_key": "/s/signing-key.pem",
        "token_keys": "/s/token-keys.json",
        "signing_kid": "kid1",
    },
}


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(lab_manifest.STATE_DIR_ENV, str(tmp_path))
    (tmp_path / "manifests").mkdir()
    return tmp_path


def write(state_dir: Path, data: dict[str, Any], name: str = "gatewayauthsession") -> None:
    (state_dir / "manifests" / f"{name}.json").write_text(json.dumps(data))


def test_state_dir_env_overrides_the_default(state_dir: Path) -> None:
    assert lab_manifest.manifest_path("x") == state_dir / "manifests" / "x.json"


def test_default_state_dir_is_dot_lab_in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(lab_manifest.STATE_DIR_ENV, raising=False)

    assert lab_manifest.state_dir() == Path(__file__).resolve().parents[3] / ".lab"


def test_documented_manifest_loads(state_dir: Path) -> None:
    write(state_dir, EXAMPLE)

    manifest = lab_manifest.load("gatewayauthsession")

    assert (manifest.endpoint("gateway"), manifest.url("authsession")) == ("127.0.0.1:21110", "http://127.0.0.1:21120")


def test_component_settings_are_readable(state_dir: Path) -> None:
    write(state_dir, EXAMPLE)

    manifest = lab_manifest.load("gatewayauthsession")

    assert manifest.setting("authsession", "CHALLENGE_TTL_SECONDS") == "5"


def test_missing_setting_gives_the_default(state_dir: Path) -> None:
    write(state_dir, EXAMPLE)

    assert lab_manifest.load("gatewayauthsession").setting("gateway", "TOKEN_AUDIENCE", "d") == "d"


def test_unknown_component_names_the_known_ones(state_dir: Path) -> None:
    write(state_dir, EXAMPLE)

    with pytest.raises(KeyError, match="authsession, gateway"):
        lab_manifest.load("gatewayauthsession").component("user")


def test_manifest_of_another_boundary_is_refused(state_dir: Path) -> None:
    write(state_dir, EXAMPLE, name="gatewayuser")

    with pytest.raises(lab_manifest.ManifestInvalid, match="describes boundary"):
        lab_manifest.load("gatewayuser")


def test_manifest_without_documented_fields_is_refused(state_dir: Path) -> None:
    write(state_dir, {"boundary": "gatewayauthsession"})

    with pytest.raises(lab_manifest.ManifestInvalid):
        lab_manifest.load("gatewayauthsession")


@pytest.mark.parametrize("ci", ["", "false", "0"])
def test_missing_manifest_skips_with_the_bring_up_hint(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setenv("CI", ci)

    with pytest.raises(pytest.skip.Exception, match="make lab"):
        lab_manifest.load_for_suite("gatewayauthsession")


@pytest.mark.parametrize("ci", ["true", "TRUE", "1", "yes"])
def test_missing_manifest_fails_under_ci(state_dir: Path, monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)

    with pytest.raises(pytest.fail.Exception, match="make lab"):
        lab_manifest.load_for_suite("gatewayauthsession")
