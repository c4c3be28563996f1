"""The Ansible filter plugin over galaxylab.plan (collections/ansible_collections/galaxy/lab/plugins/filter/lab.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

PLUGIN = (
    Path(__file__).resolve().parents[3]
    / "collections"
    / "ansible_collections"
    / "galaxy"
    / "lab"
    / "plugins"
    / "filter"
    / "lab.py"
)


@pytest.fixture(scope="module")
def filters() -> ModuleType:
    spec = importlib.util.spec_from_file_location("galaxylab_filters", PLUGIN)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_secrets_argv_bundles_each_host(filters: ModuleType) -> None:
    argv = filters.secrets_argv({"b": ["x"], "a": ["x", "y"]}, "/state/secrets")
    assert argv == ["ensure", "/state/secrets", "--boundary", "x", "y", "--bundle", "a=x,y", "--bundle", "b=x"]


def test_ready_argv(filters: ModuleType) -> None:
    assert filters.ready_argv([{"name": "a", "url": "redis://h:1"}]) == ["--check", "a=redis://h:1"]


def test_lab_hosts_reads_the_galaxylab_host_vars(filters: ModuleType) -> None:
    hostvars = {"h": {"galaxylab_address": "10.0.0.1", "galaxylab_root": "/r", "galaxylab_testinfra": "ssh://h"}}
    assert filters.lab_hosts(hostvars, ["h"]) == {
        "h": {"address": "10.0.0.1", "root": "/r", "testinfra": "ssh://h", "owner": "galaxylab", "group": "galaxylab"}
    }


def test_select_boundaries_takes_the_inventory_values(filters: ModuleType) -> None:
    data = [{"name": "a", "port_base": 21100}, {"name": "b", "port_base": 21200}]
    assert filters.select_boundaries(data, ["b"], "1000") == [{"name": "b", "port_base": 22200}]
    assert filters.select_boundaries(data, [], 0) == data


def test_manifests_already_on_disk_are_not_written_again(filters: ModuleType, tmp_path: Path) -> None:
    same, changed, new = ({"boundary": name, "port_base": 1} for name in ("same", "changed", "new"))
    (tmp_path / "same.json").write_text(filters.manifest_text(same))
    (tmp_path / "changed.json").write_text(filters.manifest_text({**changed, "port_base": 2}))
    writes = filters.manifest_writes([same, changed, new], str(tmp_path))
    assert [w["path"] for w in writes] == [str(tmp_path / "changed.json"), str(tmp_path / "new.json")]
    assert writes[1]["content"] == '{\n    "boundary": "new",\n    "port_base": 1\n}\n'


def test_an_artifact_already_built_for_the_tree_is_found_without_building(filters: ModuleType, tmp_path: Path) -> None:
    from galaxylab import artifact

    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "m.py").write_text("x = 1\n")
    (project / "pyproject.toml").write_text("[project]\n")
    (project / "requirements").mkdir()
    (project / "requirements" / "runtime.lock").write_text("")
    out = tmp_path / "out"
    assert filters.built_artifact(str(project), str(out)) == {}
    artifact_id = artifact.content_id(project)
    (out / artifact_id).mkdir(parents=True)
    (out / artifact_id / "artifact.json").write_text(json.dumps({"id": artifact_id, "wheel": "w.whl", "layer": "l"}))
    assert filters.built_artifact(str(project), str(out)) == {}  # no tarball yet
    (out / f"{artifact_id}.tar").write_bytes(b"")
    (out / ".layers").mkdir()
    (out / ".layers" / "l.tar").write_bytes(b"")
    found = filters.built_artifact(str(project), str(out))
    assert (found["id"], found["wheel"], found["changed"]) == (artifact_id, "w.whl", False)
    (project / "src" / "m.py").write_text("x = 2\n")
    assert filters.built_artifact(str(project), str(out)) == {}  # a source change is a new artifact


def test_secrets_are_ready_only_when_nothing_is_missing_or_stale(filters: ModuleType, tmp_path: Path) -> None:
    from galaxylab import secrets

    hosts = {"a": ["one", "two"], "b": ["two"]}
    assert filters.ready_secrets(hosts, str(tmp_path)) == {}
    result = secrets.ensure(tmp_path, ["one", "two"], list(hosts.items()))
    assert filters.ready_secrets(hosts, str(tmp_path)) == result["kids"]
    (tmp_path / "two" / "operator.token").chmod(0o644)
    assert filters.ready_secrets(hosts, str(tmp_path)) == {}
    secrets.ensure(tmp_path, ["one", "two"], list(hosts.items()))
    (tmp_path / "one" / "lab.token").unlink()
    assert filters.ready_secrets(hosts, str(tmp_path)) == {}
    secrets.ensure(tmp_path, ["one", "two"], list(hosts.items()))
    assert filters.ready_secrets({**hosts, "b": ["one", "two"]}, str(tmp_path)) == {}  # bundle b is stale


def test_with_tls_the_secrets_get_each_hosts_address_and_the_probe_its_ca(filters: ModuleType) -> None:
    hosts = {"a": {"address": "10.0.0.1"}, "b": {"address": "10.0.0.2"}}
    assert filters.tls_hosts(hosts, False) == {}
    assert filters.tls_hosts(hosts, "true") == filters.tls_hosts(hosts, True) == {"a": "10.0.0.1", "b": "10.0.0.2"}
    argv = filters.secrets_argv({"a": ["x"]}, "/s", {"a": "10.0.0.1"})
    assert argv == ["ensure", "/s", "--boundary", "x", "--bundle", "a=x", "--tls", "a=10.0.0.1"]
    checks = [
        {"name": "r", "url": "rediss://probe@h:1", "ca": "/ca.pem"},
        {"name": "g", "url": "http://h:2", "ca": None},
    ]
    assert filters.ready_argv(checks) == [
        "--check",
        "r=rediss://probe@h:1",
        "--ca",
        "r=/ca.pem",
        "--check",
        "g=http://h:2",
    ]


def test_with_tls_secrets_are_ready_only_with_every_hosts_certificate_current(
    filters: ModuleType, tmp_path: Path
) -> None:
    from galaxylab import secrets

    hosts, tls = {"a": ["one"], "b": ["one"]}, {"a": "10.0.0.1", "b": "10.0.0.2"}
    secrets.ensure(tmp_path, ["one"], list(hosts.items()))
    assert filters.ready_secrets(hosts, str(tmp_path), tls) == {}  # no CA yet
    result = secrets.ensure(tmp_path, ["one"], list(hosts.items()), tls)
    assert filters.ready_secrets(hosts, str(tmp_path), tls) == result["kids"]
    assert filters.ready_secrets(hosts, str(tmp_path), {**tls, "b": "10.0.0.9"}) == {}  # b moved: re-issue
    assert filters.ready_secrets(hosts, str(tmp_path)) == {}  # TLS turned off: bundles without the TLS files
