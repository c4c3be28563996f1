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


def directory(path: str, mode: str = "0750") -> dict[str, str]:
    return {"path": path, "mode": mode, "owner": "root", "group": "root"}


def found(path: str, mode: str = "0750", owner: str = "root") -> dict[str, object]:
    return {"path": path, "mode": mode, "pw_name": owner, "gr_name": "root", "isdir": True}


def test_only_missing_or_different_directories_are_fixed(filters: ModuleType) -> None:
    wanted = [directory("/l/log"), directory("/l/etc"), directory("/l/secrets", "0700"), directory("/l/run")]
    seen = [found("/l/log"), found("/l/secrets", "0755"), found("/l/run", owner="nobody"), found("/l/other")]
    fix = filters.dirs_to_fix(wanted, seen)
    assert [d["path"] for d in fix] == ["/l/etc", "/l/secrets", "/l/run"]


def test_nothing_to_fix_when_all_match(filters: ModuleType) -> None:
    assert filters.dirs_to_fix([directory("/l/log")], [found("/l/log")]) == []


def test_directories_are_grouped_by_mode_owner_and_group(filters: ModuleType) -> None:
    groups = filters.dirs_by_attributes([directory("/l/a"), directory("/l/s", "0700"), directory("/l/b")])
    assert groups == [
        {"mode": "0750", "owner": "root", "group": "root", "paths": ["/l/a", "/l/b"]},
        {"mode": "0700", "owner": "root", "group": "root", "paths": ["/l/s"]},
    ]


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
