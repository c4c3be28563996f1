#!/usr/bin/python
"""Stop every process of a lab root at once: supervisord, its programs, and any a lost supervisord left."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable
from typing import NamedTuple

from ansible.module_utils.basic import AnsibleModule  # type: ignore[import-untyped]

DOCUMENTATION = r"""
module: lab_processes
short_description: Stop every process that belongs to a lab root, all at once
description:
  - A process belongs to the lab root when its working directory is the root or below it, or an
    argument of its command line is a path below it (supervisord and every program run from the root's
    release venv with their working directory in the root; Redis has its data directory there).
  - That also finds programs whose supervisord is gone (killed, or lost to a failed bring-up), which
    C(supervisorctl shutdown) cannot reach.
  - Sends SIGTERM to supervisord first (so it restarts nothing), then to every other process of the
    root at once, polls until all have exited, and sends SIGKILL to what is left after C(timeout).
    A process started meanwhile (e.g. restarted before supervisord saw the signal) is found by the next
    poll and stopped the same way.
  - Supports check mode (names what it would stop). Linux only (reads /proc).
options:
  root:
    description: The lab root (e.g. /opt/galaxylab). Must be an absolute path other than C(/).
    type: path
    required: true
  state:
    description: Only C(absent) (every process of the root stopped).
    type: str
    choices: [absent]
    default: absent
  timeout:
    description:
      - Seconds from SIGTERM until the processes still running get SIGKILL. C(0) sends SIGKILL at once
        (a lab about to be removed has nothing to stop gracefully).
    type: float
    default: 10
author: Galaxy lab
"""

EXAMPLES = r"""
- name: Stop every process of the lab
  galaxy.lab.lab_processes:
    root: /opt/galaxylab
    timeout: 10
"""

RETURN = r"""
stopped:
  description: Each process stopped (or, in check mode, that would be), as C(pid command line).
  type: list
  elements: str
  returned: always
killed:
  description: The processes among them that needed SIGKILL after the timeout.
  type: list
  elements: str
  returned: always
"""

POLL_SECONDS = 0.05
# After SIGKILL, how long a process may still be listed (exiting, or a zombie of another parent) at least.
KILLED_GRACE_SECONDS = 5.0
PROC = "/proc"


class LabProcess(NamedTuple):
    pid: int
    command: str

    def __str__(self) -> str:
        return f"{self.pid} {self.command}"


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:  # gone meanwhile, or not ours to read
        return None


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


def belongs(cwd: str | None, argv: Iterable[str], root: str) -> bool:
    """Whether a process with this working directory and argument vector belongs to ``root``."""
    return (cwd is not None and _under(cwd, root)) or any(_under(arg, root) for arg in argv)


def lab_processes(root: str, spare: frozenset[int]) -> list[LabProcess]:
    found = []
    for name in os.listdir(PROC):
        if not name.isdigit() or int(name) in spare:
            continue
        raw = _read(f"{PROC}/{name}/cmdline")
        if not raw:  # a kernel thread, or gone
            continue
        argv = [arg.decode(errors="replace") for arg in raw.rstrip(b"\0").split(b"\0")]
        try:
            cwd: str | None = os.readlink(f"{PROC}/{name}/cwd")
        except OSError:
            cwd = None
        if belongs(cwd, argv, root):
            found.append(LabProcess(int(name), " ".join(argv)))
    return found


def is_supervisord(process: LabProcess) -> bool:
    return any(os.path.basename(arg) == "supervisord" for arg in process.command.split(" ")[:2])


def _signal(processes: Iterable[LabProcess], signum: int) -> None:
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signum)


def _ancestors() -> frozenset[int]:
    """This module's process and its parents (an ansible run started from inside the root is spared)."""
    pids = set()
    pid = os.getpid()
    while pid > 1:
        pids.add(pid)
        stat = _read(f"{PROC}/{pid}/stat")
        if stat is None:
            break
        pid = int(stat.rsplit(b")", 1)[1].split()[1])
    return frozenset(pids)


def stop(root: str, timeout: float) -> tuple[list[LabProcess], list[LabProcess]]:
    spare = _ancestors()
    stopped: dict[int, LabProcess] = {}
    killed: dict[int, LabProcess] = {}
    deadline = time.monotonic() + timeout
    while running := lab_processes(root, spare):
        fresh = [p for p in running if p.pid not in stopped]
        if time.monotonic() >= deadline:
            _signal(running, signal.SIGKILL)
            killed.update((p.pid, p) for p in running)
        else:
            _signal([p for p in fresh if is_supervisord(p)], signal.SIGTERM)
            _signal([p for p in fresh if not is_supervisord(p)], signal.SIGTERM)
        stopped.update((p.pid, p) for p in fresh)
        time.sleep(POLL_SECONDS)
        if time.monotonic() >= deadline + max(timeout, KILLED_GRACE_SECONDS):  # zombies of another parent
            break
    return list(stopped.values()), list(killed.values())


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "root": {"type": "path", "required": True},
            "state": {"type": "str", "choices": ["absent"], "default": "absent"},
            "timeout": {"type": "float", "default": 10.0},
        },
        supports_check_mode=True,
    )
    root = os.path.normpath(module.params["root"])
    if not os.path.isabs(root) or root == "/":
        module.fail_json(msg=f"root must be an absolute path other than /, not {module.params['root']!r}")
    if module.check_mode:
        found = lab_processes(root, _ancestors())
        module.exit_json(changed=bool(found), stopped=[str(p) for p in found], killed=[])
    stopped, killed = stop(root, module.params["timeout"])
    module.exit_json(changed=bool(stopped), stopped=[str(p) for p in stopped], killed=[str(p) for p in killed])


if __name__ == "__main__":
    main()
