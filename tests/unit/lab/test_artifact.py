"""galaxylab.artifact: the artifact id is a content hash of what goes into it."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from galaxylab import artifact


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "__init__.py").write_text("x = 1\n")
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "runtime.lock").write_text("a==1 --hash=sha256:00\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname='p'\n")
    return tmp_path


def test_an_unchanged_tree_has_the_same_id(project: Path) -> None:
    assert artifact.content_id(project) == artifact.content_id(project)


@pytest.mark.parametrize(
    "path", ["src/pkg/__init__.py", "pyproject.toml", "requirements/runtime.lock", "src/pkg/new.py"]
)
def test_any_change_of_source_project_or_lock_changes_the_id(project: Path, path: str) -> None:
    before = artifact.content_id(project)
    target = project / path
    target.write_text((target.read_text() if target.exists() else "") + "# change\n")
    assert artifact.content_id(project) != before


@pytest.mark.parametrize("path", ["src/pkg/__pycache__/m.cpython-311.pyc", "src/galaxy.egg-info/PKG-INFO", "README.md"])
def test_build_by_products_do_not_change_the_id(project: Path, path: str) -> None:
    before = artifact.content_id(project)
    (project / path).parent.mkdir(parents=True, exist_ok=True)
    (project / path).write_text("noise")
    assert artifact.content_id(project) == before


def test_an_existing_artifact_is_not_rebuilt(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    artifact_id = artifact.content_id(project)
    (out / artifact_id).mkdir(parents=True)
    (out / artifact_id / "artifact.json").write_text('{"id": "x", "wheel": "p-1-py3-none-any.whl", "layer": "l-py3"}')
    (out / f"{artifact_id}.tar").write_bytes(b"")
    (out / ".layers").mkdir()
    (out / ".layers" / "l-py3.tar").write_bytes(b"")
    result = artifact.build(project, out)
    assert result["changed"] is False
    assert result["id"] == artifact_id
    assert result["wheel"] == "p-1-py3-none-any.whl"
    assert (result["layer"], result["layer_tarball"]) == ("l-py3", str(out / ".layers" / "l-py3.tar"))


@pytest.mark.parametrize("missing", ["layer", "tarball", "layer tarball"])
def test_an_artifact_without_both_layers_is_not_found(tmp_path: Path, missing: str) -> None:
    """Built before the layers, or cut short: built again rather than installed half."""
    info = {"id": "a1", "wheel": "w.whl", "layer": "l-py3"}
    if missing == "layer":
        del info["layer"]
    (tmp_path / "a1").mkdir()
    (tmp_path / "a1" / "artifact.json").write_text(json.dumps(info))
    (tmp_path / ".layers").mkdir()
    if missing != "tarball":
        (tmp_path / "a1.tar").write_bytes(b"")
    if missing != "layer tarball":
        (tmp_path / ".layers" / "l-py3.tar").write_bytes(b"")
    assert artifact.describe(tmp_path, "a1") is None


def test_a_layer_goes_to_hosts_as_one_file_with_the_modes_hosts_need(tmp_path: Path) -> None:
    """0755 directories and console scripts, 0644 files, whatever the build left; what is left out stays out."""
    tree = tmp_path / "tree"
    (tree / "site-packages" / "pkg").mkdir(parents=True)
    (tree / "site-packages" / "pkg" / "__init__.py").write_text("")
    (tree / "site-packages" / "pkg" / "__init__.py").chmod(0o600)
    (tree / "site-packages" / "pkg").chmod(0o700)
    (tree / "scripts").mkdir()
    (tree / "scripts" / "tool").write_text("#!python\n")
    (tree / "w.whl").write_text("")

    artifact._tarball(tree, tmp_path / "layer.tar", leave_out=lambda parts: parts[0] == "w.whl")

    with tarfile.open(tmp_path / "layer.tar") as tar:
        modes = {member.name: member.mode for member in tar.getmembers()}
    assert modes == {
        "scripts": 0o755,
        "scripts/tool": 0o755,
        "site-packages": 0o755,
        "site-packages/pkg": 0o755,
        "site-packages/pkg/__init__.py": 0o644,
    }


def test_a_missing_lock_is_a_clear_error(project: Path) -> None:
    (project / "requirements" / "runtime.lock").unlink()
    with pytest.raises(artifact.ArtifactError, match=r"runtime\.lock is missing"):
        artifact.content_id(project)


def test_a_change_behind_a_symlinked_folder_changes_the_id(project: Path) -> None:
    # src/galaxy_contracts/spec is a symlink to contracts/: a contract edit must redeploy.
    (project / "contracts").mkdir()
    (project / "contracts" / "catalog.yaml").write_text("types: {}\n")
    (project / "src" / "pkg" / "spec").symlink_to(project / "contracts")
    before = artifact.content_id(project)
    (project / "contracts" / "catalog.yaml").write_text("types: {a: {}}\n")
    assert artifact.content_id(project) != before


def test_a_snapshot_is_a_frozen_copy_without_build_by_products(project: Path, tmp_path: Path) -> None:
    from galaxylab import idempotence

    (project / "src" / "pkg" / "__pycache__").mkdir()
    (project / "src" / "pkg" / "__pycache__" / "m.pyc").write_text("noise")
    copy = idempotence.snapshot(project, tmp_path / "copy")
    (project / "src" / "pkg" / "__init__.py").write_text("x = 2\n")

    assert (copy / "src" / "pkg" / "__init__.py").read_text() == "x = 1\n"
    assert (copy / "requirements" / "runtime.lock").exists()
    assert not (copy / "src" / "pkg" / "__pycache__").exists()


def test_console_scripts_leave_the_tree_with_a_placeholder_interpreter(tmp_path: Path) -> None:
    """The host writes its venv's interpreter in place of ``#!python`` (pip wrote the controller's)."""
    (tmp_path / "site-packages" / "bin").mkdir(parents=True)
    (tmp_path / "site-packages" / "bin" / "tool").write_text("#!/controller/venv/bin/python3.11\nimport pkg\n")
    artifact._move_scripts(tmp_path)
    assert (tmp_path / "scripts" / "tool").read_text() == "#!python\nimport pkg\n"
    assert (tmp_path / "scripts" / "tool").stat().st_mode & 0o777 == 0o755
    assert not (tmp_path / "site-packages" / "bin").exists()


def test_a_console_script_of_no_python_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "site-packages" / "bin").mkdir(parents=True)
    (tmp_path / "site-packages" / "bin" / "tool").write_text("#!/bin/sh\necho\n")
    with pytest.raises(artifact.ArtifactError, match="tool does not start with a python interpreter line"):
        artifact._move_scripts(tmp_path)
