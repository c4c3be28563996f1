"""The Ansible filter plugin over galaxylab.plan (collections/ansible_collections/galaxy/lab/plugins/filter/lab.py)."""

from __future__ import annotations

import importlib.util
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
        "h": {"address": "10.0.0.1", "root": "/r", "testinfra": "ssh://h", "owner": "root", "group": "root"}
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
