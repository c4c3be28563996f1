"""Stop, start and kill a boundary's components through the host's process manager.

Every action goes through testinfra's host abstraction (``local://`` or SSH,
as the manifest's ``hosts[...].testinfra`` says) and the manifest's
``supervisorctl`` command, never by guessing a PID. Readiness after a start is
real readiness: ``GET <admin_url>/healthz`` answering 200, or PING for Redis.

``start`` (and the end of ``stopped``) returns as soon as the program is ready, not when supervisord calls
it RUNNING: that takes ``startsecs`` (1 s in the lab) plus up to a second of supervisord's own pace, while a
service is ready in a fraction of that. The ``supervisorctl start`` goes on in a (daemon) thread and is settled
(its refusal raised) before the next process-control call of this object, or at once if it ends before the
program is ready; a run that ends meanwhile does not wait for it. Only a program supervisord has already
reaped is started so: after a kill (``ensure_running``, ``killed``) the start is waited for, so that no
answer of the dying process can pass for readiness.

In fixtures and tests prefer the context managers: they always bring back what
they took down, even when the test fails::

    with processes.stopped("authsession"):
        ...  # authsession is down here
    # authsession is running and ready again here
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import httpx
import testinfra

from galaxy_contracts.http import tls_context
from tests.harness import redis as lab_redis
from tests.harness import secrets as lab_secrets
from tests.harness.manifest import Manifest
from tests.harness.waits import until

REDIS = "redis"
READY_TIMEOUT = 30.0
STOPPED_TIMEOUT = 15.0
PROBE_TIMEOUT = 1.0
DOWN_STATES = frozenset({"STOPPED", "EXITED", "FATAL", "BACKOFF"})
ALREADY_STARTED = "already started"
RUNNING_STATES = frozenset({"RUNNING"})


class ProcessControlError(RuntimeError):
    """The process manager refused or failed an action; the message has its output."""


class ProgramStatus(NamedTuple):
    """One line of ``supervisorctl status``: the group:name, the state and, while RUNNING, the pid."""

    namespec: str
    state: str
    pid: int | None


@dataclass(frozen=True)
class Target:
    """One supervised program of the boundary and how to tell it is ready."""

    name: str
    host: str
    program: str
    ready_url: str | None = None
    redis_url: str | None = None
    redis_ca: str | None = None
    ready_ca: str | None = None

    def is_ready(self) -> bool:
        if self.redis_url is not None:
            return lab_redis.ping(self.redis_url, self.redis_ca)
        assert self.ready_url is not None
        try:
            verify = tls_context() if self.ready_ca is None else lab_secrets.tls_context(self.ready_ca.encode())
            return httpx.get(self.ready_url, timeout=PROBE_TIMEOUT, verify=verify).status_code == 200
        except httpx.HTTPError:
            return False


class ProcessControl:
    """Process control for one boundary, driven by its manifest."""

    def __init__(self, manifest: Manifest) -> None:
        self._manifest = manifest
        self._hosts: dict[str, Any] = {}
        self._namespecs: dict[str, str] = {}
        self._starting: list[tuple[Target, Future[Any]]] = []

    @property
    def manifest(self) -> Manifest:
        return self._manifest

    def target(self, name: str) -> Target:
        """``"redis"`` or a component name of the manifest."""
        if name == REDIS:
            redis = self._manifest.redis
            ca = lab_redis.tls(self._manifest).get("ssl_ca_data")
            return Target(name, redis.host, redis.program, redis_url=redis.probe.url, redis_ca=ca)
        component = self._manifest.component(name)
        # The SMTP sink's API (its admin port) speaks TLS with the lab's: verified with the lab's CA.
        ca = lab_redis.tls(self._manifest).get("ssl_ca_data") if component.admin_url.startswith("https:") else None
        return Target(name, component.host, component.program, ready_url=component.healthz, ready_ca=ca)

    # --- queries -------------------------------------------------------------

    def state(self, name: str) -> str:
        """supervisord's state of the component's program (RUNNING, STOPPED, ...)."""
        target = self.target(name)
        return self._status(target.host)[target.program].state

    def pid(self, name: str) -> int | None:
        """The pid the process manager reports for the program while it is RUNNING, else None."""
        target = self.target(name)
        return self._status(target.host)[target.program].pid

    def is_ready(self, name: str) -> bool:
        return self.target(name).is_ready()

    # --- actions -------------------------------------------------------------

    def stop(self, name: str) -> None:
        """Stop the program and return once the process manager reports it down.

        ``supervisorctl stop`` returns once supervisord has reaped the process, so a success needs no
        second look; anything else (already stopped, a timeout) is settled by polling the state.
        """
        target = self.target(name)
        if self._run(target, "stop").rc == 0:
            return
        until(lambda: self.state(name) in DOWN_STATES, within=STOPPED_TIMEOUT, what=f"{target.program} stopped")

    def start(self, name: str, *, timeout: float = READY_TIMEOUT) -> None:
        """Start the program (a no-op when running) and wait until it is ready (not until supervisord's
        ``startsecs`` have passed: see the module's doc)."""
        self._start_until_ready(self.target(name), timeout, background=True)

    def kill(self, name: str) -> None:
        """SIGKILL the program through the process manager (no clean shutdown)."""
        self._ctl(self.target(name), "signal KILL")

    def kill_and_await_restart(self, name: str, *, timeout: float = READY_TIMEOUT) -> None:
        """SIGKILL the program, then wait until the process manager has replaced it by itself (autorestart:
        nothing here starts it) and the new process is ready. Raises ``WaitTimeout`` when it is not back."""
        killed = self.pid(name)
        self.kill(name)
        until(lambda: self.pid(name) != killed, within=STOPPED_TIMEOUT, what=f"{self.target(name).program} killed")
        self.wait_ready(name, timeout=timeout)

    def wait_ready(self, name: str, *, timeout: float = READY_TIMEOUT) -> None:
        target = self.target(name)
        until(target.is_ready, within=timeout, what=f"{target.program} ready ({target.ready_url or target.redis_url})")

    def wait_not_ready(self, name: str, *, timeout: float = STOPPED_TIMEOUT) -> None:
        target = self.target(name)
        until(lambda: not target.is_ready(), within=timeout, what=f"{target.program} no longer answering")

    def ensure_running(self, name: str, *, timeout: float = READY_TIMEOUT) -> None:
        """Bring the program back whatever state it is in (also after a kill), and wait until ready.

        One ``supervisorctl start``: it starts a stopped, exited or fatal program and answers
        "already started" for a running (or restarting) one. Waited for (a killed process may not be
        reaped yet), then readiness.
        """
        self._start_until_ready(self.target(name), timeout, background=False)

    @contextmanager
    def stopped(self, name: str) -> Iterator[None]:
        """The component is down inside the block; started and ready again after it, always."""
        reaped = False
        try:
            self.stop(name)
            reaped = True
            yield
        finally:
            if reaped:
                self.start(name)
            else:
                self.ensure_running(name)

    @contextmanager
    def killed(self, name: str) -> Iterator[None]:
        """SIGKILL the component on entry; after the block it is running and ready again, always.

        supervisord may restart a killed program by itself (autorestart); inside the
        block the component may therefore already be coming back.
        """
        try:
            self.kill(name)
            yield
        finally:
            self.ensure_running(name)

    def settle(self) -> None:
        """Wait for the ``supervisorctl start`` calls still running; raise the first refusal."""
        starting, self._starting = self._starting, []
        for target, pending in starting:
            self._check_start(target, pending.result())

    # --- supervisorctl through testinfra --------------------------------------

    def _start_until_ready(self, target: Target, timeout: float, *, background: bool) -> None:
        """``supervisorctl start`` (it answers "already started" for a running or restarting program), then
        readiness. In the ``background``: the call runs in a thread; return once the program is ready, or
        raise as soon as the start is refused."""
        command = f"start {shlex.quote(self._namespec(target))}"
        if not background:
            self._check_start(target, self._supervisorctl(target.host, command))
            until(
                target.is_ready, within=timeout, what=f"{target.program} ready ({target.ready_url or target.redis_url})"
            )
            return
        pending: Future[Any] = Future()

        def call() -> None:
            try:
                pending.set_result(self._supervisorctl_now(target.host, command))
            except BaseException as error:  # handed to whoever settles the start
                pending.set_exception(error)

        # A daemon: a run that ends right after an outage does not wait out supervisord's startsecs at exit
        # (the program is ready; supervisord finishes the start by itself, whether or not anyone waits).
        threading.Thread(target=call, name=f"start-{target.program}", daemon=True).start()

        def ready() -> bool:
            if pending.done():
                self._check_start(target, pending.result())
            return target.is_ready()

        try:
            until(ready, within=timeout, what=f"{target.program} ready ({target.ready_url or target.redis_url})")
        except BaseException:
            pending.result()  # no start left running behind a failed wait
            raise
        if not pending.done():
            self._starting.append((target, pending))

    def _check_start(self, target: Target, result: Any) -> None:
        if result.rc != 0 and ALREADY_STARTED not in result.stdout + result.stderr:
            raise self._refused(target, "start", result)

    def _testinfra_host(self, host: str) -> Any:
        if host not in self._hosts:
            self._hosts[host] = testinfra.get_host(self._manifest.host(host).testinfra)
        return self._hosts[host]

    def _supervisorctl(self, host: str, arguments: str) -> Any:
        self.settle()
        return self._supervisorctl_now(host, arguments)

    def _supervisorctl_now(self, host: str, arguments: str) -> Any:
        command = f"{self._manifest.host(host).supervisorctl} {arguments}"
        return self._testinfra_host(host).run(command)

    def _status(self, host: str) -> dict[str, ProgramStatus]:
        """``{program: status}`` of every program on the host (one supervisorctl call)."""
        result = self._supervisorctl(host, "status")
        programs: dict[str, ProgramStatus] = {}
        for line in result.stdout.splitlines():
            fields = line.split()
            if len(fields) >= 2:
                namespec = fields[0]
                programs[namespec.rpartition(":")[2]] = ProgramStatus(namespec, fields[1], _pid(fields))
        if not programs:
            raise ProcessControlError(f"supervisorctl status on {host} listed nothing: {result.stdout}{result.stderr}")
        return programs

    def _namespec(self, target: Target) -> str:
        # Programs live in a [group:<boundary>]; supervisorctl wants group:name, which status tells
        # (asked once per program: a program's group does not change while the lab is up).
        if target.program not in self._namespecs:
            try:
                self._namespecs[target.program] = self._status(target.host)[target.program].namespec
            except KeyError:
                raise ProcessControlError(f"{target.program} is not a supervised program on {target.host}") from None
        return self._namespecs[target.program]

    def _run(self, target: Target, action: str) -> Any:
        return self._supervisorctl(target.host, f"{action} {shlex.quote(self._namespec(target))}")

    def _ctl(self, target: Target, action: str) -> None:
        result = self._run(target, action)
        if result.rc != 0:
            raise self._refused(target, action, result)

    @staticmethod
    def _refused(target: Target, action: str, result: Any) -> ProcessControlError:
        return ProcessControlError(
            f"supervisorctl {action} {target.program} on {target.host} exited {result.rc}: "
            f"{result.stdout.strip()} {result.stderr.strip()}"
        )


def _pid(fields: list[str]) -> int | None:
    """``RUNNING   pid 1234, uptime 0:00:05`` -> 1234; None in any other state."""
    if fields[1] in RUNNING_STATES and len(fields) >= 4 and fields[2] == "pid":
        return int(fields[3].rstrip(","))
    return None
