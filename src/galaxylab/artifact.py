"""Build the lab's versioned artifact once, on the controller.

``python -m galaxylab.artifact build --out build/artifact``

The artifact id is a content hash of ``src/``, ``pyproject.toml`` and
``requirements/runtime.lock``: an unchanged tree rebuilds nothing. ``<out>/<id>/`` holds

- the project wheel (``galaxy-<version>-py3-none-any.whl``),
- ``requirements.lock`` (the runtime lock, hashes included),
- ``site-packages/``: the lock and the project wheel installed (``pip install --target``, hash-checked,
  no index) with their bytecode compiled, ready to be moved into a host's bare venv: the lab user runs
  the release but cannot write its ``__pycache__``, and a host then needs no pip run at all,
- ``scripts/``: their console scripts, the interpreter line ``#!python`` (the host writes its venv's),
- ``artifact.json`` (id, wheel name, the ``python`` version the tree is for),

and ``<out>/<id>.tar`` is the same tree but the wheel, as one file for transfer to hosts. Wheelhouses and
the lock's installed tree are cached per lock hash (and Python) under ``<out>/.wheelhouse/`` and
``<out>/.site-packages/``: a source change installs only the project wheel.

Prints ``{"id", "path", "tarball", "wheel", "changed"}`` as JSON.
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
from collections.abc import Iterator, Sequence
from pathlib import Path

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
    cache = out / ".site-packages" / f"{_lock_id(project)}-py{python_version()}"
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
    """``into/site-packages`` and ``into/scripts``: the lock's cached tree (hard-linked) plus the project wheel."""
    wheelhouse = _wheelhouse(project, out)
    locked = _locked_tree(project, out, wheelhouse)
    shutil.copytree(locked, into, dirs_exist_ok=True, copy_function=_link_or_copy)
    with tempfile.TemporaryDirectory(prefix="galaxy-install-") as scratch:
        requirements = Path(scratch) / "requirements.txt"
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        requirements.write_text(f"{wheel.as_uri()} --hash=sha256:{digest}\n")
        project_tree = Path(scratch) / "tree"
        _install_target(requirements, wheelhouse, project_tree / "site-packages")
        _move_scripts(project_tree)
        for sub in ("site-packages", "scripts"):
            for entry in sorted((project_tree / sub).iterdir()):
                if (into / sub / entry.name).exists():
                    raise ArtifactError(f"the project wheel and the lock both install {sub}/{entry.name}")
                shutil.move(entry, into / sub / entry.name)


def _tarball(source: Path, target: Path, leave_out: Sequence[str] = ()) -> None:
    tmp = target.with_name(target.name + ".tmp")
    with tarfile.open(tmp, "w") as tar:
        for path in sorted(source.rglob("*")):
            if path.relative_to(source).parts[0] not in leave_out:
                tar.add(path, arcname=path.relative_to(source).as_posix(), recursive=False)
    tmp.replace(target)


def build(project: Path, out: Path) -> dict[str, object]:
    """Build the artifact unless one with the same id exists."""
    project = project.resolve()
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    artifact_id = content_id(project)
    path = out / artifact_id
    tarball = out / f"{artifact_id}.tar"
    metadata = path / "artifact.json"
    if metadata.is_file() and tarball.is_file():
        info = json.loads(metadata.read_text())
        return {"id": artifact_id, "path": str(path), "tarball": str(tarball), "wheel": info["wheel"], "changed": False}
    staging = Path(tempfile.mkdtemp(prefix=f".{artifact_id}-", dir=out))
    try:
        wheel = _project_wheel(project, staging)
        _installed_tree(project, out, wheel, staging)
        shutil.copy2(project / LOCK, staging / "requirements.lock")
        info = {"id": artifact_id, "wheel": wheel.name, "python": python_version()}
        (staging / "artifact.json").write_text(json.dumps(info, indent=2) + "\n")
        for item in staging.rglob("*"):
            # Hard links of the cached tree: their modes are the cache's already (the same inodes).
            item.chmod(0o755 if item.is_dir() or item.parent.name == "scripts" else 0o644)
        staging.chmod(0o755)
        shutil.rmtree(path, ignore_errors=True)
        staging.rename(path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _tarball(path, tarball, leave_out=(wheel.name,))
    return {"id": artifact_id, "path": str(path), "tarball": str(tarball), "wheel": wheel.name, "changed": True}


def _link_or_copy(src: str, dst: str) -> str:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


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
