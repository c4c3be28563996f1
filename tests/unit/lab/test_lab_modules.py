"""The lab's own Ansible modules (galaxy.lab.lab_files, galaxy.lab.release), their logic run in-process."""

from __future__ import annotations

import grp
import importlib.util
import json
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

MODULES = Path(__file__).resolve().parents[3] / "collections/ansible_collections/galaxy/lab/plugins/modules"
OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"galaxylab_module_{name}", MODULES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lab_files() -> ModuleType:
    return load("lab_files")


@pytest.fixture(scope="module")
def release() -> ModuleType:
    return load("release")


def entry(path: Path, mode: str = "0640", content: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"path": str(path), "mode": mode, "owner": OWNER, "group": GROUP}
    if content is not None:
        item["content"] = content
    return item


def test_a_second_placement_changes_nothing(lab_files: ModuleType, tmp_path: Path) -> None:
    dirs = [entry(tmp_path / "a" / "b", "0750"), entry(tmp_path / "a", "0755")]
    files = [entry(tmp_path / "a" / "b" / "x.conf", content="x 1\n")]
    first = lab_files.place(dirs, files, [])
    assert [(Path(p).name, c) for p, c in first] == [("a", ["created"]), ("b", ["created"]), ("x.conf", ["created"])]
    assert (tmp_path / "a/b/x.conf").read_text() == "x 1\n"
    assert stat.S_IMODE((tmp_path / "a/b/x.conf").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "a/b").stat().st_mode) == 0o750
    assert lab_files.place(dirs, files, []) == []


def test_what_changed_is_named_with_why(lab_files: ModuleType, tmp_path: Path) -> None:
    target = tmp_path / "x.conf"
    lab_files.place([], [entry(target, content="old\n"), entry(tmp_path / "y.conf", content="y\n")], [])
    (tmp_path / "y.conf").chmod(0o644)
    (tmp_path / "gone").mkdir()
    (tmp_path / "gone" / "f").write_text("f")
    changed = lab_files.place(
        [], [entry(target, content="new\n"), entry(tmp_path / "y.conf", content="y\n")], [str(tmp_path / "gone")]
    )
    assert changed == [
        (str(target), ["content"]),
        (str(tmp_path / "y.conf"), ["mode"]),
        (str(tmp_path / "gone"), ["removed"]),
    ]
    assert target.read_text() == "new\n"
    assert not (tmp_path / "gone").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.conf", "y.conf"]  # no temporary file left


def test_check_mode_reports_without_touching(lab_files: ModuleType, tmp_path: Path) -> None:
    target = tmp_path / "x.conf"
    target.write_text("old\n")
    (tmp_path / "e").mkdir(mode=0o755)
    dirs = [entry(tmp_path / "d", "0750"), entry(tmp_path / "e", "0700")]
    changed = lab_files.place(dirs, [entry(target, "0600", "new\n")], [str(target)], check=True)
    assert changed == [
        (str(tmp_path / "d"), ["created"]),
        (str(tmp_path / "e"), ["mode"]),
        (str(target), ["content", "mode"]),
        (str(target), ["removed"]),
    ]
    assert (target.read_text(), (tmp_path / "d").exists()) == ("old\n", False)
    assert stat.S_IMODE((tmp_path / "e").stat().st_mode) == 0o755


def test_a_file_where_a_directory_belongs_is_an_error(lab_files: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "d").write_text("not a directory")
    with pytest.raises(ValueError, match="is not a directory"):
        lab_files.place([entry(tmp_path / "d", "0750")], [], [])


def installed(root: Path, release_id: str) -> None:
    directory = root / "releases" / release_id
    directory.mkdir(parents=True)
    (directory / ".installed").write_text(f"{release_id}\n")


def test_current_moves_and_only_the_previous_release_is_kept(release: ModuleType, tmp_path: Path) -> None:
    for release_id in ("r1", "r2", "r3"):
        installed(tmp_path, release_id)
    (tmp_path / "current").symlink_to(tmp_path / "releases" / "r2")
    result = release.converge(tmp_path, "r3", "/usr/bin/python3", OWNER, GROUP)
    assert (result["installed"], result["previous"]) == (False, "r2")
    assert result["pruned"] == [str(tmp_path / "releases" / "r1")]
    assert os.readlink(tmp_path / "current") == str(tmp_path / "releases" / "r3")
    assert sorted(p.name for p in (tmp_path / "releases").iterdir()) == ["r2", "r3"]
    again = release.converge(tmp_path, "r3", "/usr/bin/python3", OWNER, GROUP)
    assert (again["changed"], again["changed_items"]) == (False, [])


def test_a_release_not_unpacked_is_refused(release: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "releases" / "r1").mkdir(parents=True)
    with pytest.raises(RuntimeError, match="is missing"):
        release.converge(tmp_path, "r1", "/usr/bin/python3", OWNER, GROUP)


def unpacked(root: Path, release_id: str, python: str) -> Path:
    """A release directory as the artifact unpacks it: the installed tree the controller built."""
    directory = root / "releases" / release_id
    (directory / "site-packages" / "pkg" / "__pycache__").mkdir(parents=True)
    (directory / "site-packages" / "pkg" / "__init__.py").write_text("x = 1\n")
    (directory / "site-packages" / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"compiled")
    (directory / "scripts").mkdir()
    (directory / "scripts" / "tool").write_text("#!python\nimport pkg\n")
    (directory / "artifact.json").write_text(json.dumps({"id": release_id, "wheel": "w.whl", "python": python}))
    return directory


def test_a_release_is_a_bare_venv_given_the_installed_tree(release: ModuleType, tmp_path: Path) -> None:
    directory = unpacked(tmp_path, "r1", release.venv_python_version(sys.executable))
    result = release.converge(tmp_path, "r1", sys.executable, OWNER, GROUP)
    venv = directory / "venv"
    site = next(venv.glob("lib/python3*/site-packages"))
    assert result["installed"]
    assert (site / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").read_bytes() == b"compiled"
    assert not (venv / "bin" / "pip").exists()  # no pip: nothing is installed on the host
    assert (venv / "bin" / "tool").read_text() == f"#!{venv}/bin/python\nimport pkg\n"
    assert stat.S_IMODE((venv / "bin" / "tool").stat().st_mode) == 0o755
    assert not (directory / "site-packages").exists()
    assert not (directory / "scripts").exists()
    ran = subprocess.run([str(venv / "bin" / "python"), "-c", "import pkg; print(pkg.x)"], capture_output=True)
    assert ran.stdout.strip() == b"1"


def test_an_artifact_of_another_python_is_refused(release: ModuleType, tmp_path: Path) -> None:
    unpacked(tmp_path, "r1", "2.7")
    with pytest.raises(RuntimeError, match=r"built for Python 2\.7"):
        release.converge(tmp_path, "r1", sys.executable, OWNER, GROUP)
    assert not (tmp_path / "releases" / "r1" / ".installed").exists()


def test_a_script_without_the_placeholder_interpreter_is_refused(release: ModuleType, tmp_path: Path) -> None:
    directory = unpacked(tmp_path, "r1", release.venv_python_version(sys.executable))
    (directory / "scripts" / "tool").write_text("#!/bin/sh\necho\n")
    with pytest.raises(RuntimeError, match="does not start with #!python"):
        release.converge(tmp_path, "r1", sys.executable, OWNER, GROUP)


def test_diff_mode_shows_the_content_and_attributes_about_to_change(lab_files: ModuleType, tmp_path: Path) -> None:
    target = tmp_path / "redis.conf"
    target.write_text("port 1\nmaxclients 5000\n")
    target.chmod(0o644)
    (tmp_path / "gone").write_text("x")
    (tmp_path / "gone").chmod(0o644)
    dirs, files = [entry(tmp_path / "d", "0750")], [entry(target, "0640", "port 1\n")]
    planned = lab_files.place(dirs, files, [str(tmp_path / "gone")], check=True)
    shown = lab_files.diffs(planned, dirs, files)
    assert [(d["before_header"], d["before"], d["after"]) for d in shown] == [
        (f"{tmp_path / 'd'} (absent)", "", f"directory mode 0750 owner {OWNER}:{GROUP}\n"),
        (str(target), "port 1\nmaxclients 5000\n", "port 1\n"),
        (
            f"{target} (attributes)",
            f"file mode 0644 owner {OWNER}:{GROUP}\n",
            f"file mode 0640 owner {OWNER}:{GROUP}\n",
        ),
        (str(tmp_path / "gone"), f"file mode 0644 owner {OWNER}:{GROUP}\n", ""),
    ]


# Another owner than the one running the tests: what a lab run as root before, or a hand, left below.
STRANGER = 65534


def foreign_tree(root: Path) -> list[Path]:
    """``root/sub/file`` and a symlink pointing out of the tree, all owned by STRANGER."""
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "app.log").write_text("x")
    (root / "sub" / "app.log").chmod(0o600)
    (root / "link").symlink_to("/etc/hostname")
    paths = [root / "link", root / "sub", root / "sub" / "app.log"]
    for path in paths:
        os.lchown(path, STRANGER, STRANGER)
    return paths


@pytest.mark.skipif(os.getuid() != 0, reason="giving files another owner needs root")
def test_recurse_hands_everything_below_to_the_owner_and_keeps_modes(lab_files: ModuleType, tmp_path: Path) -> None:
    root = tmp_path / "log"
    root.mkdir()
    paths = foreign_tree(root)
    owned = [{**entry(root, "0750"), "recurse": True}]
    assert lab_files.place(owned, [], []) == [
        (str(root), ["mode"]),
        *((str(path), ["owner"]) for path in paths),
    ]
    assert {(p.lstat().st_uid, p.lstat().st_gid) for p in paths} == {(os.getuid(), os.getgid())}
    assert stat.S_IMODE((root / "sub" / "app.log").stat().st_mode) == 0o600
    assert Path("/etc/hostname").stat().st_uid == 0, "the symlink's target was followed"
    assert lab_files.place(owned, [], []) == []


@pytest.mark.skipif(os.getuid() != 0, reason="giving files another owner needs root")
def test_recurse_in_check_mode_names_what_it_would_hand_over(lab_files: ModuleType, tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir(mode=0o750)
    root.chmod(0o750)
    foreign_tree(root)
    owned = [{**entry(root, "0750"), "recurse": True}]
    planned = lab_files.place(owned, [], [], check=True)
    assert [Path(path).name for path, _ in planned] == ["link", "sub", "app.log"]
    assert (root / "sub").stat().st_uid == STRANGER
    shown = lab_files.diffs(planned, owned, [])
    assert shown[2]["before"] == "file mode 0600 owner nobody:nogroup\n"
    assert shown[2]["after"] == f"file mode 0600 owner {OWNER}:{GROUP}\n"


def test_check_mode_before_the_owner_exists_reports_instead_of_failing(lab_files: ModuleType, tmp_path: Path) -> None:
    directory = {**entry(tmp_path, "0750"), "owner": "no-such-lab-user", "group": "no-such-lab-group"}
    assert lab_files.place([directory], [], [], check=True) == [(str(tmp_path), ["mode", "owner"])]
    with pytest.raises(KeyError):
        lab_files.place([directory], [], [])


def test_the_tarball_is_unpacked_with_its_modes_then_removed(release: ModuleType, tmp_path: Path) -> None:
    built = unpacked(tmp_path / "controller", "r1", release.venv_python_version(sys.executable))
    (built / "scripts" / "tool").chmod(0o755)
    tarball = tmp_path / "root" / "releases" / "r1.tar"
    tarball.parent.mkdir(parents=True)
    subprocess.run(["tar", "-c", "-f", str(tarball), "-C", str(built), "."], check=True)
    (tmp_path / "root" / "releases" / "r1").mkdir()  # an earlier attempt's leftovers are replaced
    (tmp_path / "root" / "releases" / "r1" / "partial").write_text("")
    result = release.converge(tmp_path / "root", "r1", sys.executable, OWNER, GROUP, tarball)
    directory = tmp_path / "root" / "releases" / "r1"
    assert result["installed"]
    assert not tarball.exists()
    assert not (directory / "partial").exists()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o755
    assert (directory / "venv" / "bin" / "tool").read_text().startswith(f"#!{directory}/venv/bin/python\n")


def layered(root: Path, release_id: str, python: str, layer: str) -> tuple[Path, Path]:
    """A project layer (``pkg``, ``tool``) standing on dependency layer ``layer`` (``dep``, ``dep-tool``), each
    as its tarball, the way the controller builds them: (project tarball, layer tarball)."""
    built = unpacked(root / "controller" / "project", release_id, python)
    info = json.loads((built / "artifact.json").read_text())
    (built / "artifact.json").write_text(json.dumps({**info, "layer": layer}))
    dependencies = root / "controller" / "layer" / layer
    (dependencies / "site-packages" / "dep").mkdir(parents=True)
    (dependencies / "site-packages" / "dep" / "__init__.py").write_text("y = 2\n")
    (dependencies / "scripts").mkdir()
    (dependencies / "scripts" / "dep-tool").write_text("#!python\nimport dep\n")
    tarballs = (root / "host" / "releases" / f"{release_id}.tar", root / "host" / "layers" / f"{layer}.tar")
    for tarball, tree in zip(tarballs, (built, dependencies), strict=True):
        tarball.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "-c", "-f", str(tarball), "-C", str(tree), "."], check=True)
    return tarballs


def test_a_release_hard_links_its_dependency_layer_which_a_second_release_reuses(
    release: ModuleType, tmp_path: Path
) -> None:
    python = release.venv_python_version(sys.executable)
    host = tmp_path / "host"
    project, layer = layered(tmp_path, "r1", python, "l1")
    first = release.converge(host, "r1", sys.executable, OWNER, GROUP, project, layer)
    assert f"{host / 'layers' / 'l1'} (unpacked)" in first["changed_items"]
    assert not layer.exists()
    venv = host / "releases" / "r1" / "venv"
    ran = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import dep, pkg; print(dep.y, pkg.x)"], capture_output=True
    )
    assert ran.stdout.strip() == b"2 1"
    assert (venv / "bin" / "dep-tool").read_text() == f"#!{venv}/bin/python\nimport dep\n"
    site = next(venv.glob("lib/python3*/site-packages"))
    layer_file = host / "layers" / "l1" / "site-packages" / "dep" / "__init__.py"
    assert (site / "dep" / "__init__.py").stat().st_ino == layer_file.stat().st_ino  # linked, not copied

    # A source change: the project layer alone; the host's layer is linked again.
    project, _ = layered(tmp_path / "second", "r2", python, "l1")
    (host / "releases" / "r2.tar").parent.mkdir(parents=True, exist_ok=True)
    project.rename(host / "releases" / "r2.tar")
    second = release.converge(host, "r2", sys.executable, OWNER, GROUP, host / "releases" / "r2.tar")
    assert second["installed"]
    assert not any("unpacked" in item for item in second["changed_items"])
    site = next((host / "releases" / "r2" / "venv").glob("lib/python3*/site-packages"))
    assert (site / "dep" / "__init__.py").stat().st_ino == layer_file.stat().st_ino


def test_a_layer_the_host_lacks_is_a_clear_error(release: ModuleType, tmp_path: Path) -> None:
    project, _ = layered(tmp_path, "r1", release.venv_python_version(sys.executable), "l1")
    with pytest.raises(RuntimeError, match=r"layer l1 is not on this host .*give its tarball"):
        release.converge(tmp_path / "host", "r1", sys.executable, OWNER, GROUP, project)
    assert not (tmp_path / "host" / "releases" / "r1" / ".installed").exists()


def test_a_layer_no_kept_release_stands_on_is_pruned(release: ModuleType, tmp_path: Path) -> None:
    python = release.venv_python_version(sys.executable)
    host = tmp_path / "host"
    for number, layer in ((1, "l1"), (2, "l2"), (3, "l2")):
        project, layer_tarball = layered(tmp_path / str(number), f"r{number}", python, layer)
        has_layer = (host / "layers" / layer / ".unpacked").is_file()
        for tarball in (project,) if has_layer else (project, layer_tarball):  # what the role copies
            target = host / tarball.relative_to(tmp_path / str(number) / "host")
            target.parent.mkdir(parents=True, exist_ok=True)
            tarball.rename(target)
        release.converge(
            host,
            f"r{number}",
            sys.executable,
            OWNER,
            GROUP,
            host / "releases" / f"r{number}.tar",
            None if has_layer else host / "layers" / f"{layer}.tar",
        )
    assert sorted(p.name for p in (host / "releases").iterdir()) == ["r2", "r3"]
    assert sorted(p.name for p in (host / "layers").iterdir()) == ["l2"]
    ran = subprocess.run(
        [str(host / "releases" / "r3" / "venv" / "bin" / "python"), "-c", "import dep"], capture_output=True
    )
    assert ran.returncode == 0, ran.stderr
