"""Loading a boundary's manifest: the documented shape, the state dir override, skip or fail without a lab."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from galaxylab import plan
from tests.harness import manifest as lab_manifest

REPO = Path(__file__).resolve().parents[3]


def _planned() -> dict[str, Any]:
    """gatewayauthsession's manifest as the planner builds it (the one model, not a hand-written copy)."""
    boundaries = yaml.safe_load((REPO / "playbooks/vars/boundaries.yml").read_text())["galaxylab_boundaries"]
    hosts = plan.parse_hosts({"localhost": {"address": "127.0.0.1", "root": "/opt/galaxylab", "testinfra": "local://"}})
    kids = {b["name"]: "kid1" for b in boundaries}
    hashes = {b["name"]: dict.fromkeys(plan.REDIS_USERS, "0" * 64) for b in boundaries}
    placement = plan.parse_placement("localhost", {})
    result = plan.build_plan(boundaries, placement, hosts, kids=kids, redis_hashes=hashes, release="r")
    manifest: dict[str, Any] = result["manifests"]["gatewayauthsession"]
    return manifest


EXAMPLE = _planned()


def boundary_setting(boundary: str, component: str, name: str) -> str:
    """A setting a boundary overrides in playbooks/vars/boundaries.yml."""
    boundaries = yaml.safe_load((REPO / "playbooks/vars/boundaries.yml").read_text())["galaxylab_boundaries"]
    (entry,) = (b for b in boundaries if b["name"] == boundary)
    value: str = entry["settings"][component][name]
    return value


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
    assert manifest.component("gateway").admin_port == 21111


def test_component_settings_are_readable(state_dir: Path) -> None:
    write(state_dir, EXAMPLE)

    manifest = lab_manifest.load("gatewayauthsession")

    assert manifest.setting("authsession", "CHALLENGE_TTL_SECONDS") == boundary_setting(
        "gatewayauthsession", "authsession", "CHALLENGE_TTL_SECONDS"
    )


def test_missing_setting_gives_the_default(state_dir: Path) -> None:
    write(state_dir, EXAMPLE)

    assert lab_manifest.load("gatewayauthsession").setting("gateway", "NO_SUCH_SETTING", "d") == "d"


def test_unknown_component_names_the_known_ones(state_dir: Path) -> None:
    write(state_dir, EXAMPLE)

    with pytest.raises(KeyError, match="authsession, gateway, mail-stub, user-stub"):
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


def test_a_manifest_with_a_field_the_model_does_not_know_is_refused(state_dir: Path) -> None:
    write(state_dir, EXAMPLE | {"surprise": 1})

    with pytest.raises(lab_manifest.ManifestInvalid, match="surprise"):
        lab_manifest.load("gatewayauthsession")


def test_the_published_json_schema_is_generated_from_the_model() -> None:
    from galaxylab.manifest import json_schema

    published = REPO / "docs" / "manifest.schema.json"
    assert published.read_text() == json_schema(), "run `make schema` to regenerate docs/manifest.schema.json"
