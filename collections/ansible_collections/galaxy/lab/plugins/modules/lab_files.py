#!/usr/bin/python
"""Place all of a lab host's directories and rendered files in one module call, naming what changed."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Iterable, Mapping
from typing import Any

from ansible.module_utils.basic import AnsibleModule  # type: ignore[import-untyped]

DOCUMENTATION = r"""
module: lab_files
short_description: Place a lab host's directories and rendered files in one call, naming what changed
description:
  - Creates the listed directories (parents first) and fixes their mode, owner and group (with C(recurse), the
    owner and group of everything below them too, never a mode); writes each
    listed file whose content, mode, owner or group differ (atomically, in its own directory); removes
    the listed paths (files or whole directories).
  - Reports every path it touched in C(changed_paths) and why in C(changed_items), so a run that should
    change nothing names its offenders. Supports check mode and diff mode (a file's content before and
    after, a path's mode and owner, what is created or removed).
options:
  directories:
    description:
      - Directories to create or fix, each C({path, mode, owner, group}) and optionally C(recurse) (true also
        gives everything below it, without following symlinks, that owner and group).
    type: list
    elements: dict
    default: []
  files:
    description: Files to write or fix, each C({path, content, mode, owner, group}); extra keys are ignored.
    type: list
    elements: dict
    default: []
  remove:
    description: Paths to remove (a directory with everything under it).
    type: list
    elements: path
    default: []
author: Galaxy lab
"""

EXAMPLES = r"""
- name: Place the host's files
  galaxy.lab.lab_files:
    directories:
      - {path: /opt/galaxylab/etc, mode: "0750", owner: root, group: galaxylab}
      - {path: /opt/galaxylab/log, mode: "0750", owner: galaxylab, group: galaxylab, recurse: true}
    files:
      - {path: /opt/galaxylab/etc/x.conf, content: "x 1\n", mode: "0640", owner: root, group: galaxylab}
    remove: [/opt/galaxylab/etc/old]
"""

RETURN = r"""
changed_paths:
  description: Every path created, rewritten, fixed or removed, in that order.
  type: list
  elements: str
  returned: always
changed_items:
  description: The same paths with what changed (created, content, mode, owner, removed).
  type: list
  elements: str
  returned: always
"""


def _ids(owner: str, group: str, check: bool = False) -> tuple[int, int]:
    try:
        uid = int(owner) if owner.isdigit() else pwd.getpwnam(owner).pw_uid
        gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    except KeyError:
        if check:  # a check run before the user exists (its task only pretended to create it): it would change
            return -1, -1
        raise
    return uid, gid


def _attribute_changes(info: os.stat_result, mode: int, uid: int, gid: int) -> list[str]:
    changes = []
    if stat.S_IMODE(info.st_mode) != mode:
        changes.append("mode")
    if (info.st_uid, info.st_gid) != (uid, gid):
        changes.append("owner")
    return changes


def ensure_directory(entry: Mapping[str, Any], check: bool) -> list[str]:
    """What had to change about a directory (``created``, ``mode``, ``owner``); nothing if it was right."""
    path, mode = str(entry["path"]), int(str(entry["mode"]), 8)
    uid, gid = _ids(str(entry["owner"]), str(entry["group"]), check)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        if not check:
            os.mkdir(path, mode)
            os.chown(path, uid, gid)
            os.chmod(path, mode)  # mkdir applies the umask
        return ["created"]
    if not stat.S_ISDIR(info.st_mode):
        raise ValueError(f"{path} exists and is not a directory")
    changes = _attribute_changes(info, mode, uid, gid)
    if changes and not check:
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    return changes


def owned_below(entry: Mapping[str, Any], check: bool) -> list[tuple[str, list[str]]]:
    """``[(path, ["owner"])]`` of what below a ``recurse`` directory had another owner or group (now fixed)."""
    if not entry.get("recurse") or not os.path.isdir(str(entry["path"])):
        return []
    uid, gid = _ids(str(entry["owner"]), str(entry["group"]), check)
    fixed = []
    for top, dirs, files in os.walk(str(entry["path"])):
        for name in sorted(dirs + files):
            path = os.path.join(top, name)
            info = os.lstat(path)
            if (info.st_uid, info.st_gid) != (uid, gid):
                if not check:
                    os.lchown(path, uid, gid)
                fixed.append((path, ["owner"]))
    return fixed


def ensure_file(entry: Mapping[str, Any], check: bool) -> list[str]:
    """What had to change about a file (``created``, ``content``, ``mode``, ``owner``); nothing if it was right."""
    path, mode = str(entry["path"]), int(str(entry["mode"]), 8)
    uid, gid = _ids(str(entry["owner"]), str(entry["group"]), check)
    content = str(entry["content"]).encode()
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        changes = ["created"]
    else:
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path} exists and is not a regular file")
        with open(path, "rb") as handle:
            same = handle.read() == content
        changes = ([] if same else ["content"]) + _attribute_changes(info, mode, uid, gid)
    if not changes or check:
        return changes
    if changes[0] in ("created", "content"):
        _write(path, content, mode, uid, gid)
    else:
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    return changes


def _write(path: str, content: bytes, mode: int, uid: int, gid: int) -> None:
    """Readers see the old file or the new one, never half of it."""
    directory, name = os.path.split(path)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            os.fchown(handle.fileno(), uid, gid)
            os.fchmod(handle.fileno(), mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def remove_path(path: str, check: bool) -> list[str]:
    if not os.path.lexists(path):
        return []
    if not check:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    return ["removed"]


def place(
    directories: Iterable[Mapping[str, Any]],
    files: Iterable[Mapping[str, Any]],
    remove: Iterable[str],
    check: bool = False,
) -> list[tuple[str, list[str]]]:
    """Converge directories (parents first), then files, then removals; ``[(path, changes)]`` of what changed."""
    changed: list[tuple[str, list[str]]] = []
    ordered = sorted(directories, key=lambda entry: str(entry["path"]).rstrip("/").count("/"))
    for entry in ordered:
        if changes := ensure_directory(entry, check):
            changed.append((str(entry["path"]), changes))
        changed.extend(owned_below(entry, check))
    for entry in files:
        if changes := ensure_file(entry, check):
            changed.append((str(entry["path"]), changes))
    for path in remove:
        if changes := remove_path(path, check):
            changed.append((path, changes))
    return changed


def _attributes(path: str) -> str:
    info = os.lstat(path)
    kind = "directory" if stat.S_ISDIR(info.st_mode) else "file"
    owner = f"{_name(pwd.getpwuid, info.st_uid)}:{_name(grp.getgrgid, info.st_gid)}"
    return f"{kind} mode {stat.S_IMODE(info.st_mode):04o} owner {owner}\n"


def _name(lookup: Any, number: int) -> str:
    try:
        return str(lookup(number)[0])
    except KeyError:
        return str(number)


def _wanted(entry: Mapping[str, Any], kind: str) -> str:
    return f"{kind} mode {int(str(entry['mode']), 8):04o} owner {entry['owner']}:{entry['group']}\n"


def _read(path: str) -> str:
    with open(path, "rb") as handle:
        return handle.read().decode(errors="replace")


def diffs(
    planned: Iterable[tuple[str, list[str]]],
    directories: Iterable[Mapping[str, Any]],
    files: Iterable[Mapping[str, Any]],
) -> list[dict[str, str]]:
    """Ansible diffs of what ``place`` is about to change (computed before it changes anything)."""
    by_path = {str(e["path"]): ("directory", e) for e in directories} | {str(e["path"]): ("file", e) for e in files}
    recursive = [e for e in directories if e.get("recurse")]
    found: list[dict[str, str]] = []
    for path, changes in planned:
        kind, entry = by_path.get(path) or _below(path, recursive)
        if changes == ["removed"]:
            found.append(
                {"before_header": path, "after_header": f"{path} (removed)", "before": _attributes(path), "after": ""}
            )
        elif changes == ["created"] and kind == "directory":
            found.append(
                {"before_header": f"{path} (absent)", "after_header": path, "before": "", "after": _wanted(entry, kind)}
            )
        elif "created" in changes or "content" in changes:
            before = "" if "created" in changes else _read(path)
            found.append(
                {"before_header": path, "after_header": path, "before": before, "after": str(entry["content"])}
            )
        if any(change in ("mode", "owner") for change in changes):
            found.append(
                {"before_header": f"{path} (attributes)", "after_header": f"{path} (attributes)",
                 "before": _attributes(path), "after": _wanted(entry, kind)}
            )  # fmt: skip
    return found


def _below(path: str, recursive: Iterable[Mapping[str, Any]]) -> tuple[str, Mapping[str, Any]]:
    """What a path below a ``recurse`` directory should be: that directory's owner and group, its own mode."""
    for entry in recursive:
        if path.startswith(str(entry["path"]).rstrip("/") + "/"):
            info = os.lstat(path)
            kind = "directory" if stat.S_ISDIR(info.st_mode) else "file"
            return kind, {**entry, "mode": f"{stat.S_IMODE(info.st_mode):04o}"}
    return "", {}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "directories": {"type": "list", "elements": "dict", "default": []},
            "files": {"type": "list", "elements": "dict", "default": []},
            "remove": {"type": "list", "elements": "path", "default": []},
        },
        supports_check_mode=True,
    )
    params = module.params
    directories, files, remove = params["directories"], params["files"], params["remove"]
    shown: list[dict[str, str]] = []
    try:
        if module._diff:
            shown = diffs(place(directories, files, remove, check=True), directories, files)
        changed = place(directories, files, remove, module.check_mode)
    except (OSError, ValueError, KeyError) as error:
        module.fail_json(msg=f"placing the lab files failed: {error}")
    module.exit_json(
        changed=bool(changed),
        changed_paths=[path for path, _ in changed],
        changed_items=[f"{path} ({', '.join(changes)})" for path, changes in changed],
        diff=shown,
    )


if __name__ == "__main__":
    main()
