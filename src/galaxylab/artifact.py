"""Build the lab's versioned artifact once, on the controller.

``python -m galaxylab.artifact build --out build/artifact``

The artifact id is a content hash of ``src/``, ``pyproject.toml`` and
``requirements/runtime.lock``: an unchanged tree rebuilds nothing. An artifact is two layers, each
installed (``pip install --target``, hash-checked, no index) with its bytecode compiled, ready to go into
a host's bare venv: the lab user runs the release but cannot write its ``__pycache__``, and a host then
needs no pip run at all.

- The dependency layer, ``<out>/.site-packages/<layer>/``: the lock installed, built once per lock
  content and Python (``<layer>`` is ``<lock hash>-py<major.minor>``); ``<out>/.layers/<layer>.tar``
  for transfer to hosts (~90 MB). A host keeps it unpacked and each release hard-links it.
- The project layer, ``<out>/<id>/``: the project wheel (``galaxy-<version>-py3-none-any.whl``),
  ``requirements.lock`` (the runtime lock, hashes included), ``site-packages/`` (the wheel installed),
  ``artifact.json`` (id, wheel name, the ``python`` version the tree is for, the ``layer`` it stands on);
  ``<out>/<id>.tar`` is the same but the wheel, for transfer to hosts (~3 MB): all a source change ships.

Each layer's ``scripts/`` holds its console scripts, the interpreter line ``#!python`` (the host writes its
venv's). Wheelhouses are cached per lock hash under ``<out>/.wheelhouse/``.

Prints ``{"id", "path", "tarball", "wheel", "layer", "layer_tarball", "changed"}`` as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

HASHED = ("src", "pyproject.toml", "requirements/runtime.lock")
PROJECT_FILES = ("pyproject.toml", "README.md", "LICENSE")
LOCK = "requirements/runtime.lock"
ID_LENGTH = 16
_IGNORED_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
_IGNORED_SUFFIXES = (".pyc", ".pyo")


class ArtifactError(RuntimeError):
    """The artifact cannot be built; the message says why."""


def _hashed_files(project: Path) -> Iterator[Path]:
    for entry in HASHED:
        path = project / entry
        if path.is_file():
            yield path
        elif path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path, followlinks=True):
                dirnames[:] = sorted(d for d in dirnames if d not in _IGNORED_DIRS and not d.endswith(".egg-info"))
                for filename in sorted(filenames):
                    if not filename.endswith(_IGNORED_SUFFIXES):
                        yield Path(dirpath) / filename
        else:
            raise ArtifactError(f"{path} is missing")


def content_id(project: Path) -> str:
    """Hash of relative paths and contents of what goes into the artifact."""
    digest = hashlib.sha256()
    for path in _hashed_files(project):
        digest.update(path.relative_to(project).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:ID_LENGTH]


def _lock_id(project: Path) -> str:
    return hashlib.sha256((project / LOCK).read_bytes()).hexdigest()[:ID_LENGTH]


def layer_id(project: Path) -> str:
    """The dependency layer's name: the lock's content and the Python it is installed for."""
    return f"{_lock_id(project)}-py{python_version()}"


def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise ArtifactError(f"{' '.join(command)} failed:\n{tail}")


def _wheelhouse(project: Path, out: Path) -> Path:
    """The wheelhouse of the current lock, built once per lock content."""
    cache = out / ".wheelhouse" / _lock_id(project)
    if cache.is_dir():
        return cache
    tmp = Path(tempfile.mkdtemp(prefix=".wheelhouse-", dir=out))
    try:
        _pip("wheel", "--quiet", "--require-hashes", "-r", str(project / LOCK), "--wheel-dir", str(tmp))
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(cache)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cache


def _project_wheel(project: Path, into: Path) -> Path:
    """Build the wheel from a copy of the tree, so the source tree gets no build/ or egg-info."""
    with tempfile.TemporaryDirectory(prefix="galaxy-build-") as scratch:
        copy = Path(scratch) / "project"
        shutil.copytree(
            project / "src",
            copy / "src",
            ignore=shutil.ignore_patterns(*_IGNORED_DIRS, "*.pyc", "*.egg-info"),
        )
        for name in PROJECT_FILES:
            if (project / name).is_file():
                shutil.copy2(project / name, copy / name)
        _pip("wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(into), str(copy))
    wheels = sorted(into.glob("galaxy-*.whl"))
    if len(wheels) != 1:
        raise ArtifactError(f"expected one project wheel in {into}, found {[w.name for w in wheels]}")
    return wheels[0]


def python_version() -> str:
    """The ``major.minor`` the installed tree is for (its compiled extensions and bytecode)."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _install_target(requirements: Path, wheelhouse: Path, target: Path) -> None:
    """``pip install --target``: hash-checked, no index, no resolver (the lock is complete), bytecode compiled."""
    _pip(
        "install",
        "--quiet",
        "--no-index",
        "--no-deps",
        "--require-hashes",
        "--find-links",
        str(wheelhouse),
        "--target",
        str(target),
        "-r",
        str(requirements),
    )


def _locked_tree(project: Path, out: Path, wheelhouse: Path) -> Path:
    """The lock installed (``<tree>/site-packages``, ``<tree>/scripts``), once per lock content and Python."""
    cache = out / ".site-packages" / layer_id(project)
    if cache.is_dir():
        return cache
    tmp = Path(tempfile.mkdtemp(prefix=".site-packages-", dir=out))
    try:
        _install_target(project / LOCK, wheelhouse, tmp / "site-packages")
        _move_scripts(tmp)
        cache.parent.mkdir(parents=True, exist_ok=True)
        try:
            tmp.rename(cache)
        except OSError:
            if not cache.is_dir():  # not a concurrent build that got there first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cache


def _move_scripts(tree: Path) -> None:
    """``site-packages/bin`` (pip's console scripts) to ``scripts/``, each starting ``#!python``."""
    (tree / "scripts").mkdir(exist_ok=True)
    installed = tree / "site-packages" / "bin"
    if not installed.is_dir():
        return
    for script in sorted(installed.iterdir()):
        first, newline, rest = script.read_bytes().partition(b"\n")
        if not (newline and first.startswith(b"#!") and b"python" in first):
            raise ArtifactError(f"console script {script.name} does not start with a python interpreter line")
        target = tree / "scripts" / script.name
        target.write_bytes(b"#!python\n" + rest)
        target.chmod(0o755)
    shutil.rmtree(installed)


def _installed_tree(project: Path, out: Path, wheel: Path, into: Path) -> None:
    """``into/site-packages`` and ``into/scripts``: the project wheel installed, none of it where the lock's
    tree (the dependency layer, built first if need be) has an entry of the same name."""
    wheelhouse = _wheelhouse(project, out)
    locked = _locked_tree(project, out, wheelhouse)
    requirements = into / "requirements.txt"
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    requirements.write_text(f"{wheel.as_uri()} --hash=sha256:{digest}\n")
    _install_target(requirements, wheelhouse, into / "site-packages")
    requirements.unlink()
    _move_scripts(into)
    for sub in ("site-packages", "scripts"):
        for entry in sorted((into / sub).iterdir()):
            if (locked / sub / entry.name).exists():
                raise ArtifactError(f"the project wheel and the lock both install {sub}/{entry.name}")


def _tarball(source: Path, target: Path, leave_out: Callable[[tuple[str, ...]], bool] = lambda parts: False) -> None:
    """``source`` as one tar file, but what ``leave_out`` names; modes as hosts get them: 0755 directories and
    scripts, 0644 files (readable by the lab user, writable by no one but the owner)."""

    def modes(info: tarfile.TarInfo) -> tarfile.TarInfo:
        executable = info.isdir() or info.name.startswith("scripts/")
        info.mode = 0o755 if executable else 0o644
        return info

    tmp = target.with_name(target.name + ".tmp")
    with tarfile.open(tmp, "w") as tar:
        for path in sorted(source.rglob("*")):
            parts = path.relative_to(source).parts
            if not leave_out(parts):
                tar.add(path, arcname=path.relative_to(source).as_posix(), recursive=False, filter=modes)
    tmp.replace(target)


def _layer_tarball(out: Path, layer: str) -> None:
    """``<out>/.layers/<layer>.tar``: the lock's installed tree as one file, once per layer."""
    tarball = out / ".layers" / f"{layer}.tar"
    if not tarball.is_file():
        tarball.parent.mkdir(parents=True, exist_ok=True)
        _tarball(out / ".site-packages" / layer, tarball)


def describe(out: Path, artifact_id: str) -> dict[str, Any] | None:
    """The artifact ``artifact_id`` as ``build`` prints it, if it is built (both layers' tarballs); else None."""
    path = out / artifact_id
    tarball = out / f"{artifact_id}.tar"
    try:
        info = json.loads((path / "artifact.json").read_text())
    except (OSError, ValueError):
        return None
    layer = info.get("layer")
    layer_tarball = out / ".layers" / f"{layer}.tar"
    if not (isinstance(layer, str) and tarball.is_file() and layer_tarball.is_file()):
        return None  # not finished, or built before the layers: built again
    return {
        "id": artifact_id,
        "path": str(path),
        "tarball": str(tarball),
        "wheel": info["wheel"],
        "layer": layer,
        "layer_tarball": str(layer_tarball),
        "changed": False,
    }


def build(project: Path, out: Path) -> dict[str, Any]:
    """Build the artifact unless one with the same id exists."""
    project = project.resolve()
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    artifact_id = content_id(project)
    built = describe(out, artifact_id)
    if built is not None:
        return built
    path = out / artifact_id
    layer = layer_id(project)
    staging = Path(tempfile.mkdtemp(prefix=f".{artifact_id}-", dir=out))
    try:
        wheel = _project_wheel(project, staging)
        _installed_tree(project, out, wheel, staging)
        shutil.copy2(project / LOCK, staging / "requirements.lock")
        info = {"id": artifact_id, "wheel": wheel.name, "python": python_version(), "layer": layer}
        (staging / "artifact.json").write_text(json.dumps(info, indent=2) + "\n")
        staging.chmod(0o755)  # the tarballs give hosts their modes (_tarball)
        shutil.rmtree(path, ignore_errors=True)
        staging.rename(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _layer_tarball(out, layer)
    _tarball(path, out / f"{artifact_id}.tar", leave_out=lambda parts: parts[0] == wheel.name)
    built = describe(out, artifact_id)
    if built is None:
        raise ArtifactError(f"artifact {artifact_id} was built but is incomplete in {out}")
    return {**built, "changed": True}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m galaxylab.artifact", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="build the artifact unless it exists")
    build_cmd.add_argument("--out", type=Path, default=Path("build/artifact"))
    build_cmd.add_argument("--project", type=Path, default=Path.cwd(), help="project root (default: cwd)")
    command_id = commands.add_parser("id", help="print the artifact id of the tree")
    command_id.add_argument("--project", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    try:
        if args.command == "id":
            print(content_id(args.project.resolve()))
            return 0
        print(json.dumps(build(args.project, args.out), sort_keys=True))
    except (ArtifactError, OSError) as error:
        print(f"galaxylab.artifact: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
