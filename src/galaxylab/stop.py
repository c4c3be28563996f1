"""Stop a host's supervisord gracefully: its programs tier by tier, each tier all at once, then supervisord.

``python -m galaxylab.stop --configuration SUPERVISORD_CONF [--deadline SECONDS]``

supervisord's priorities order the start (lower first: Redis 100, then the doubles 200, then the services 300),
and a stop must run the other way round: a service finishing its graceful stop still needs its Redis (Mail
records the sends it completed, a consumer acknowledges what it handled) and the doubles it talks to.
``supervisorctl stop all`` signals every program at once, and a Redis is gone within ~0.1 s while its clients
are still stopping; ``supervisorctl shutdown`` stops in order, but one group after another. Here every running
program of the highest priority is told to stop at once (``stopProcess(name, wait=False)``: supervisord
escalates to SIGKILL after the program's own ``stopwaitsecs``), the next priority once all of them have
stopped, and so on; then supervisord is told to shut down (the caller waits for its pidfile to go).

The priorities are those supervisord runs with (``getAllConfigInfo``), not the files on disk, which a bring-up
may already have changed. Exit 0 once supervisord was told to shut down; 1 naming what did not stop within
the deadline, or why supervisord could not be reached. Talks to supervisord through supervisor's own client
(its ``[supervisorctl]`` section: the unix socket).
"""

from __future__ import annotations

import argparse
import sys
import time
import xmlrpc.client
from collections.abc import Sequence
from itertools import groupby
from typing import Any

from supervisor.options import ClientOptions
from supervisor.xmlrpc import Faults

POLL_SECONDS = 0.05
# supervisord's states of a program that has not stopped yet (supervisor.states.ProcessStates).
UNSTOPPED = {"STARTING", "RUNNING", "BACKOFF", "STOPPING"}


class StopError(RuntimeError):
    """Something did not stop, or supervisord did not answer; the message says what."""


def supervisor(configuration: str) -> Any:
    """supervisord's XML-RPC namespace, reached as ``supervisorctl -c configuration`` reaches it."""
    options = ClientOptions()
    options.realize(args=["-c", configuration])
    return options.getServerProxy().supervisor


def tiers(config: Sequence[dict[str, Any]]) -> list[list[str]]:
    """``group:name`` of every program, highest priority first (the order to stop in), one list per priority."""
    ordered = sorted(config, key=lambda c: (-int(c["process_prio"]), c["group"], c["name"]))
    return [
        [f"{c['group']}:{c['name']}" for c in tier]
        for _, tier in groupby(ordered, key=lambda c: int(c["process_prio"]))
    ]


def unstopped(rpc: Any, names: Sequence[str]) -> list[str]:
    states = {f"{p['group']}:{p['name']}": p["statename"] for p in rpc.getAllProcessInfo()}
    return [name for name in names if states.get(name) in UNSTOPPED]


def stop_tier(rpc: Any, names: Sequence[str], deadline: float) -> None:
    """Tell every running program of the tier to stop, at once; return when none is left."""
    for name in unstopped(rpc, names):
        try:
            rpc.stopProcess(name, False)
        except xmlrpc.client.Fault as fault:
            if fault.faultCode != Faults.NOT_RUNNING:  # it stopped on its own meanwhile
                raise
    while left := unstopped(rpc, names):
        if time.monotonic() >= deadline:
            raise StopError(f"still running at the deadline: {', '.join(left)}")
        time.sleep(POLL_SECONDS)


def stop(configuration: str, seconds: float) -> list[list[str]]:
    """Every program stopped tier by tier, then supervisord told to shut down; returns the tiers stopped."""
    deadline = time.monotonic() + seconds
    rpc = supervisor(configuration)
    try:
        ordered = tiers(rpc.getAllConfigInfo())
        for tier in ordered:
            stop_tier(rpc, tier, deadline)
        rpc.shutdown()
    except (OSError, xmlrpc.client.Error) as error:
        raise StopError(f"supervisord ({configuration}): {error}") from error
    return ordered


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m galaxylab.stop", description=__doc__.splitlines()[0])
    parser.add_argument("--configuration", required=True, help="supervisord.conf (its [supervisorctl] section)")
    parser.add_argument("--deadline", type=float, default=60.0, help="seconds for every program to stop")
    args = parser.parse_args(argv)
    try:
        ordered = stop(args.configuration, args.deadline)
    except StopError as error:
        print(f"galaxylab.stop: {error}", file=sys.stderr)
        return 1
    print(" then ".join(f"{len(tier)} stopped" for tier in ordered) + ", supervisord shutting down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
