#!/usr/bin/python
"""Install an unpacked lab release into its venv, point current at it and prune old releases, in one call."""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import AnsibleModule  # type: ignore[import-untyped]

DOCUMENTATION = r"""
module: release
short_description: Install an unpacked lab release into releases/<id>/venv, point current at it, prune
description:
  - C(<root>/releases/<id>/) holds the unpacked artifact (by this call, from C(tarball)): artifact.json,
    requirements.lock, and the project installed on the controller with its bytecode compiled
    (site-packages/, scripts/). When artifact.json names a C(layer), the lock's installed tree is that
    dependency layer, kept unpacked in C(<root>/layers/<layer>/) (by this call, from C(layer_tarball),
    or by an earlier release of the same lock).
    Unless its C(.installed) marker exists, creates a bare C(venv/) (no pip), hard-links the layer's
    site-packages/ into it, moves the release's own site-packages/ entries beside them, writes the console
    scripts with the venv's interpreter, then writes the marker. No pip runs on the host; the host's Python
    must be the version the artifact was built for.
  - Points C(<root>/current) at the release (atomically) and, when current moved, removes every release
    but this one and the one current pointed at before, so a running supervisord's files stay until the
    next release, and every layer neither of them stands on.
options:
  root:
    description: The lab root on the host.
    type: path
    required: true
  id:
    description: The release (artifact) id; names C(releases/<id>/).
    type: str
    required: true
  python:
    description: Interpreter the venv is created with.
    type: path
    default: /usr/bin/python3
  owner:
    description: Owner of the release files, the marker and the current symlink.
    type: str
    default: root
  group:
    description: Group of the release files, the marker and the current symlink.
    type: str
    default: root
  tarball:
    description:
      - The artifact tarball on the host. When the release is not installed yet, it is unpacked into
        C(releases/<id>/) (replacing a partial earlier attempt), then removed.
    type: path
  layer_tarball:
    description:
      - The dependency layer's tarball on the host, given when the host does not have the layer yet. It is
        unpacked into C(layers/<layer>/) (replacing a partial earlier attempt), then removed.
    type: path
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
  description: Release and layer directories removed.
  type: list
  elements: str
  returned: always
changed_items:
  description: What changed (installed, current, pruned releases).
  type: list
  elements: str
  returned: always
"""

MARKER = ".installed"
# A layer's directory is complete once this file exists.
LAYER_MARKER = ".unpacked"


def venv_python_version(python: str) -> str:
    """``major.minor`` of the interpreter the venv is made with."""
    found = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        raise RuntimeError(f"{python} does not run: {found.stderr.strip()[-500:]}")
    return found.stdout.strip()


def _run(argv: Sequence[str]) -> None:
    result = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} ... failed ({result.returncode}): {result.stderr[-2000:]}")


def layer_of(release: Path) -> str:
    """The dependency layer the release stands on (artifact.json's ``layer``), or "" (a whole tree)."""
    try:
        layer = json.loads((release / "artifact.json").read_text()).get("layer", "")
    except (OSError, ValueError):
        return ""
    return layer if isinstance(layer, str) else ""


def install(release: Path, python: str, layer: Path | None = None) -> None:
    """``venv/``: a bare venv (no pip) given the release's installed tree, which the controller built.

    The dependency layer's ``site-packages/`` (when the release stands on one) is hard-linked into the venv
    and the release's own unpacked ``site-packages/`` entries (packages and their compiled bytecode) are
    moved beside them; both layers' ``scripts/`` are written to ``venv/bin`` with the venv's interpreter: no
    pip, no compiling here.
    """
    info = json.loads((release / "artifact.json").read_text())
    built_for, have = info.get("python", ""), venv_python_version(python)
    if built_for != have:
        raise RuntimeError(f"the artifact was built for Python {built_for or '?'}, {python} is Python {have}")
    tree = release / "site-packages"
    if not tree.is_dir():
        raise RuntimeError(f"{tree} is missing: unpack the artifact into {release} first")
    venv = release / "venv"
    _run([python, "-m", "venv", "--clear", "--without-pip", str(venv)])
    site = venv / "lib" / f"python{have}" / "site-packages"
    shutil.rmtree(site)
    scripts = sorted((release / "scripts").iterdir())
    if layer is None:
        os.rename(tree, site)
    else:
        shutil.copytree(layer / "site-packages", site, copy_function=_link_or_copy)
        for entry in sorted(tree.iterdir()):
            if (site / entry.name).exists():
                raise RuntimeError(f"the release and its layer {layer.name} both hold site-packages/{entry.name}")
            os.rename(entry, site / entry.name)
        tree.rmdir()
        scripts += sorted((layer / "scripts").iterdir())
    interpreter = f"#!{venv / 'bin' / 'python'}\n".encode()
    for script in scripts:
        first, newline, rest = script.read_bytes().partition(b"\n")
        if first != b"#!python" or not newline:
            raise RuntimeError(f"{script} does not start with #!python")
        target = venv / "bin" / script.name
        target.write_bytes(interpreter + rest)
        target.chmod(0o755)
    shutil.rmtree(release / "scripts")


def _link_or_copy(src: str, dst: str) -> str:
    """A hard link (the layer's files are read-only to everyone but root), a copy across file systems."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def unpack(tarball: Path, release: Path, uid: int, gid: int) -> None:
    """The artifact tarball (copied to the host) unpacked into ``release``, owned by uid:gid, then removed.

    The artifact's modes are kept (0755 directories and scripts, 0644 files: readable by the lab user);
    an earlier attempt's partial directory is replaced.
    """
    if release.exists():
        shutil.rmtree(release)
    release.mkdir(mode=0o755)
    _run(["tar", "-x", "--no-same-owner", "--same-permissions", "-f", str(tarball), "-C", str(release)])
    if (uid, gid) != (os.geteuid(), os.getegid()):
        for path in (release, *release.rglob("*")):
            os.lchown(path, uid, gid)
    release.chmod(0o755)
    tarball.unlink()


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


def _layer(root: Path, name: str, tarball: Path | None, uid: int, gid: int, items: list[str]) -> Path | None:
    """``layers/<name>/``, unpacked from ``tarball`` when given; None for a release of no layer."""
    if not name:
        return None
    layer = root / "layers" / name
    if tarball is not None:
        layer.parent.mkdir(mode=0o755, exist_ok=True)
        unpack(tarball, layer, uid, gid)
        (layer / LAYER_MARKER).write_text(f"{name}\n")
        os.chown(layer / LAYER_MARKER, uid, gid)
        items.append(f"{layer} (unpacked)")
    if not (layer / LAYER_MARKER).is_file():
        raise RuntimeError(f"layer {name} is not on this host ({layer}): give its tarball (layer_tarball)")
    return layer


def converge(
    root: Path,
    release_id: str,
    python: str,
    owner: str,
    group: str,
    tarball: Path | None = None,
    layer_tarball: Path | None = None,
) -> dict[str, Any]:
    uid, gid = _ids(owner, group)
    releases = root / "releases"
    release = releases / release_id
    marker = release / MARKER
    current = root / "current"
    previous = (current / MARKER).read_text().strip() if (current / MARKER).is_file() else ""
    items: list[str] = []
    installed = not marker.is_file()
    if installed:
        if tarball is not None:
            unpack(tarball, release, uid, gid)
        if not (release / "artifact.json").is_file():
            raise RuntimeError(f"{release / 'artifact.json'} is missing: unpack the artifact into {release} first")
        install(release, python, _layer(root, layer_of(release), layer_tarball, uid, gid, items))
        marker.write_text(f"{release_id}\n")
        os.chown(marker, uid, gid)
        os.chmod(marker, 0o644)
        items.append(f"{release} (installed)")
    pruned: list[str] = []
    # Pruned when current moves, so a repeated call keeps what the switch kept.
    if point_current(root, release, uid, gid):
        items.append(f"{current} -> {release}")
        keep = {release_id, previous}
        pruned = sorted(str(path) for path in releases.iterdir() if path.is_dir() and path.name not in keep)
        # A layer no kept release stands on: its files live on in the releases that hard-linked them.
        layers = {layer_of(releases / name) for name in keep}
        if (root / "layers").is_dir():
            pruned += sorted(str(p) for p in (root / "layers").iterdir() if p.is_dir() and p.name not in layers)
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
            "python": {"type": "path", "default": "/usr/bin/python3"},
            "owner": {"type": "str", "default": "root"},
            "group": {"type": "str", "default": "root"},
            "tarball": {"type": "path"},
            "layer_tarball": {"type": "path"},
        },
    )
    params = module.params
    try:
        tarball = Path(params["tarball"]) if params["tarball"] else None
        layer_tarball = Path(params["layer_tarball"]) if params["layer_tarball"] else None
        result = converge(
            Path(params["root"]),
            params["id"],
            params["python"],
            params["owner"],
            params["group"],
            tarball,
            layer_tarball,
        )
    except (OSError, RuntimeError, KeyError) as error:
        module.fail_json(msg=f"installing release {params['id']} failed: {error}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
