#!/usr/bin/python
"""Install an unpacked lab release into its venv, point current at it and prune old releases, in one call."""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule  # type: ignore[import-untyped]

DOCUMENTATION = r"""
module: release
short_description: Install an unpacked lab release into releases/<id>/venv, point current at it, prune
description:
  - C(<root>/releases/<id>/) holds the unpacked artifact (wheel, requirements.lock, wheelhouse/).
    Unless its C(.installed) marker exists, creates C(venv/) and installs the locked requirements and
    the project wheel from the wheelhouse in one pip run (no index, no resolver, the lock is complete),
    then writes the marker.
  - Without pip in the venv when the interpreter has pip 22.3 or later (its C(--python) option), which
    saves the venv's own pip install; otherwise the venv gets pip from ensurepip.
  - When the release current points at has the same lock (only the source changed), its installed
    packages are hard-linked into the new venv (console scripts rewritten to it) and pip reinstalls only
    the project wheel.
  - Points C(<root>/current) at the release (atomically) and, when current moved, removes every release
    but this one and the one current pointed at before, so a running supervisord's files stay until the
    next release.
options:
  root:
    description: The lab root on the host.
    type: path
    required: true
  id:
    description: The release (artifact) id; names C(releases/<id>/).
    type: str
    required: true
  wheel:
    description: File name of the project wheel in the release directory.
    type: str
    required: true
  python:
    description: Interpreter the venv is created with.
    type: path
    default: /usr/bin/python3
  owner:
    description: Owner of the marker and the current symlink.
    type: str
    default: root
  group:
    description: Group of the marker and the current symlink.
    type: str
    default: root
author: Galaxy lab
"""

RETURN = r"""
installed:
  description: Whether the venv was installed by this call.
  type: bool
  returned: always
previous:
  description: The release current pointed at before (empty if none).
  type: str
  returned: always
pruned:
  description: Release directories removed.
  type: list
  elements: str
  returned: always
changed_items:
  description: What changed (installed, current, pruned releases).
  type: list
  elements: str
  returned: always
"""

PIP_WITH_PYTHON_OPTION = (22, 3)
MARKER = ".installed"


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.strip().split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def outside_pip(python: str) -> bool:
    """Whether ``python -m pip --python <venv>`` can install into a venv made without pip."""
    found = subprocess.run(
        [python, "-c", "import pip; print(pip.__version__)"], capture_output=True, text=True, check=False
    )
    return found.returncode == 0 and _version(found.stdout) >= PIP_WITH_PYTHON_OPTION


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def install_argv(python: str, venv: Path, requirements: Path, wheelhouse: Path, use_outside_pip: bool) -> list[str]:
    pip = (
        [python, "-m", "pip", "--python", str(venv / "bin" / "python")]
        if use_outside_pip
        else [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
        ]
    )
    return [
        *pip,
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--root-user-action=ignore",
        "--no-index",
        "--no-deps",
        "--find-links",
        str(wheelhouse),
        "--require-hashes",
        "-r",
        str(requirements),
    ]


def _run(argv: Sequence[str]) -> None:
    result = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} ... failed ({result.returncode}): {result.stderr[-2000:]}")


def _site_packages(venv: Path) -> list[Path]:
    return sorted(venv.glob("lib/python3*/site-packages"))


def clone_venv(previous: Path, venv: Path) -> bool:
    """Hard-link the previous release's installed packages into ``venv`` (made without pip), with its
    console scripts rewritten to this venv's Python. False (nothing done) when they are not compatible."""
    old_site, new_site = _site_packages(previous), _site_packages(venv)
    if len(old_site) != 1 or [p.relative_to(previous) for p in old_site] != [p.relative_to(venv) for p in new_site]:
        return False
    shutil.rmtree(new_site[0])
    # A hard link shares the file, never its name: pip replaces files (new inodes), so neither release
    # can change the other's, and pruning one release leaves the other's links intact.
    shutil.copytree(old_site[0], new_site[0], symlinks=True, copy_function=os.link)
    # Whichever of the venv's interpreters (python, python3, python3.11) an installer wrote in the shebang.
    interpreter = f"#!{previous / 'bin'}/python".encode()
    for script in sorted((previous / "bin").iterdir()):
        target = venv / "bin" / script.name
        if target.exists() or target.is_symlink() or script.is_symlink() or not script.is_file():
            continue
        first, newline, rest = script.read_bytes().partition(b"\n")
        if newline and first.startswith(interpreter) and first[len(interpreter) :].strip(b"0123456789.") == b"":
            target.write_bytes(f"#!{venv / 'bin' / 'python'}\n".encode() + rest)
            target.chmod(script.stat().st_mode & 0o7777)
    return True


def _reusable(previous: Path, release: Path) -> bool:
    """The previous release has the same lock installed: only the project wheel differs."""
    try:
        same_lock = (previous / "requirements.lock").read_bytes() == (release / "requirements.lock").read_bytes()
    except OSError:
        return False
    return same_lock and (previous / MARKER).is_file() and (previous / "venv" / "bin" / "python").exists()


def install(release: Path, wheel: str, python: str, previous: Path | None = None) -> bool:
    """``venv/`` with the lock and the project wheel from the release's own wheelhouse, in one pip run.

    With a previous release of the same lock (a source change), its packages are hard-linked instead
    and pip installs only the project wheel. Returns whether that shortcut was taken.
    """
    venv = release / "venv"
    use_outside_pip = outside_pip(python)
    _run([python, "-m", "venv", "--clear", *(["--without-pip"] if use_outside_pip else []), str(venv)])
    project = release / wheel
    cloned = bool(use_outside_pip and previous and _reusable(previous, release) and clone_venv(previous / "venv", venv))
    with tempfile.TemporaryDirectory(prefix="galaxylab-release-") as scratch:
        # Hash-checking mode (the lock's hashes) needs one for the project wheel too: the unpacked one's.
        requirements = Path(scratch) / "requirements.txt"
        locked = "" if cloned else (release / "requirements.lock").read_text().rstrip() + "\n"
        requirements.write_text(f"{locked}{project.as_uri()} --hash=sha256:{_sha256(project)}\n")
        argv = install_argv(python, venv, requirements, release / "wheelhouse", use_outside_pip)
        _run([*argv, "--force-reinstall"] if cloned else argv)
    return cloned


def _ids(owner: str, group: str) -> tuple[int, int]:
    uid = int(owner) if owner.isdigit() else pwd.getpwnam(owner).pw_uid
    gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    return uid, gid


def point_current(root: Path, release: Path, uid: int, gid: int) -> bool:
    current = root / "current"
    if current.is_symlink() and os.readlink(current) == str(release):
        return False
    temporary = root / ".current.new"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(release)
    os.lchown(temporary, uid, gid)
    os.replace(temporary, current)
    return True


def converge(root: Path, release_id: str, wheel: str, python: str, owner: str, group: str) -> dict[str, Any]:
    uid, gid = _ids(owner, group)
    releases = root / "releases"
    release = releases / release_id
    marker = release / MARKER
    current = root / "current"
    previous = (current / MARKER).read_text().strip() if (current / MARKER).is_file() else ""
    items: list[str] = []
    installed = not marker.is_file()
    if installed:
        if not (release / wheel).is_file():
            raise RuntimeError(f"{release / wheel} is missing: unpack the artifact into {release} first")
        cloned = install(release, wheel, python, releases / previous if previous else None)
        marker.write_text(f"{release_id}\n")
        os.chown(marker, uid, gid)
        os.chmod(marker, 0o644)
        items.append(f"{release} (installed{', packages linked from ' + previous if cloned else ''})")
    pruned: list[str] = []
    # Pruned when current moves, so a repeated call keeps what the switch kept.
    if point_current(root, release, uid, gid):
        items.append(f"{current} -> {release}")
        keep = {release_id, previous}
        pruned = sorted(str(path) for path in releases.iterdir() if path.is_dir() and path.name not in keep)
    for path in pruned:
        shutil.rmtree(path)
        items.append(f"{path} (pruned)")
    return {
        "changed": bool(items),
        "installed": installed,
        "previous": previous,
        "pruned": pruned,
        "changed_items": items,
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "required": True},
            "id": {"type": "str", "required": True},
            "wheel": {"type": "str", "required": True},
            "python": {"type": "path", "default": "/usr/bin/python3"},
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
        },
    )
    params = module.params
    try:
        result = converge(
            Path(params["root"]), params["id"], params["wheel"], params["python"], params["owner"], params["group"]
        )
    except (OSError, RuntimeError, KeyError) as error:
        module.fail_json(msg=f"installing release {params['id']} failed: {error}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
