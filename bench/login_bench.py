"""Login benchmark: the public login through the gateway (StartLogin + ConfirmLogin), latency at concurrency 1,
8 and 32, and a bounded load run with the memory of every program of the boundary sampled from /proc.

Each login is what a client does: ``StartLogin(email)``, the code mailed for it, ``ConfirmLogin(challenge_id,
code)``. The code is read where the suites read it: the boundary's mail stub records authsession's
``auth.login_code`` delivery and its operator surface (``GET /v1/operator/deliveries?to=``, the operator
token of the manifest's secrets) answers it (tests.harness.mailed_codes). A login's latency is the two RPCs'
wall time; reading the code in between is the bench's own step and is not counted (StartLogin answers only
after authsession has handed the mail over, so the code is there when it answers).

The limits of StartLogin: every login uses a fresh e-mail address (tests.harness.keys.unique_email), so
authsession's per-address budget (``CHALLENGE_STARTS_PER_WINDOW``) never counts more than one start; each
login therefore registers a new account (User Service creates it, authsession writes its welcome intent).
All logins come from this one client address, so the boundary's gateway must allow them: its
``PEER_LOGIN_STARTS_PER_WINDOW`` per ``PEER_LOGIN_WINDOW_SECONDS`` (a boundary setting in
playbooks/vars/boundaries.yml; gatewayauthsessionuser has 100000 per 10 s). The bench refuses to run against a
gateway that allows fewer than ``MIN_STARTS_PER_SECOND`` from one address.

1. Latency: at each of ``--concurrency`` (1, 8, 32) clients, each with its own gRPC channel, ``--warm-up``
   logins not counted, then ``--samples`` logins: p50/p95/p99 of the login, and of StartLogin and
   ConfirmLogin alone.
2. Load: ``--load`` logins (10,000) at ``--load-concurrency`` (16). Errors by status (any failed RPC or a code
   never mailed is an error; nothing is retried). VmRSS of every program of the boundary (services, stubs,
   Redis) before the run, after its first ``--load-warm-up`` logins and at its end, VmHWM at the end; the
   growth after warm-up (end minus after warm-up, MiB) is the "no RSS growth" figure. A program whose pid
   changed during the run (restarted) is reported.

Every figure is the median of ``--runs`` runs: each runs all latency phases, and the last ``--load-runs`` of
them then the load run (10,000 logins take minutes on a shared two-core machine). The JSON has every run's
figures, the CPU milliseconds each program spent per login of the load run (what a loaded machine's wall times
hide) and the machine's load average (``uptime``) at each phase. Reads the manifest (``GALAXYLAB_STATE_DIR`` or
``.lab``); the lab must be up and local (pids and /proc). Prints a table and writes
``reports/bench/login-<stamp>.json``::

    .venv/bin/python bench/login_bench.py --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench.lab_bench, and the test harness: the lab's secrets and code readers

from bench.lab_bench import (  # noqa: E402
    cpu_seconds,
    load_average,
    manifest_of,
    memory_mib,
    percentile,
    program_pids,
)
from galaxy_contracts.gateway import GatewayClient  # noqa: E402
from galaxylab.manifest import Manifest  # noqa: E402
from tests.harness.keys import unique_email  # noqa: E402
from tests.harness.mail_operator import operator_client  # noqa: E402
from tests.harness.mailed_codes import OperatorCodes  # noqa: E402
from tests.harness.waits import WaitTimeout  # noqa: E402

BOUNDARY = "gatewayauthsessionuser"
GATEWAY = "gateway"
MAIL_STUB = "mail-stub"
DEFAULT_PEER_STARTS = 30  # the gateway's defaults (docs/conventions.md) when the manifest has no setting
DEFAULT_PEER_WINDOW = 60
MIN_STARTS_PER_SECOND = 1000  # far above what two cores log in per second
NO_CODE_MAILED = "NO_CODE_MAILED"
CODE_WITHIN = 10.0
PERCENTILES = (50, 95, 99)


@dataclass
class Phase:
    """What one phase's clients saw: per login the two RPCs' seconds, errors by status, the wall time."""

    logins: int
    start: list[float] = field(default_factory=list)
    confirm: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0

    @property
    def completed(self) -> int:
        return len(self.start)

    def latency_ms(self) -> dict[str, dict[str, float]]:
        series = {"login": [s + c for s, c in zip(self.start, self.confirm, strict=True)]}
        series |= {"start_login": self.start, "confirm_login": self.confirm}
        return {name: summary_ms(values) for name, values in series.items() if values}


def summary_ms(seconds: list[float]) -> dict[str, float]:
    figures = {f"p{p}": round(percentile(seconds, p) * 1000, 2) for p in PERCENTILES}
    return figures | {"max": round(max(seconds) * 1000, 2)}


class Logins:
    """Whole logins through the gateway at ``endpoint``, the code read through the mail stub's operator surface."""

    def __init__(self, endpoint: str, codes: OperatorCodes) -> None:
        self._endpoint = endpoint
        self._codes = codes

    async def run(self, count: int, concurrency: int, *, on_done: Callable[[int], None] | None = None) -> Phase:
        """``count`` logins by ``concurrency`` clients (one gRPC channel each); ``on_done(n)`` after the n-th."""
        phase = Phase(count)
        taken = 0

        async def client() -> None:
            nonlocal taken
            async with GatewayClient(self._endpoint) as gateway:
                while taken < count:
                    taken += 1
                    await self._login(gateway, phase)
                    if on_done is not None:
                        on_done(phase.completed + sum(phase.errors.values()))

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        phase.wall = time.perf_counter() - started
        return phase

    async def _login(self, gateway: GatewayClient, phase: Phase) -> None:
        email = unique_email("loginbench")
        try:
            t0 = time.perf_counter()
            started = await gateway.start_login(email)
            t1 = time.perf_counter()
            code = await self._codes.nth(email, 0)
            t2 = time.perf_counter()
            await gateway.confirm_login(started.challenge_id, code)
            t3 = time.perf_counter()
        except grpc.aio.AioRpcError as error:
            phase.errors[error.code().name] += 1
        except (WaitTimeout, AssertionError):
            phase.errors[NO_CODE_MAILED] += 1
        else:
            phase.start.append(t1 - t0)
            phase.confirm.append(t3 - t2)


def check_peer_budget(manifest: Manifest) -> None:
    starts = int(manifest.setting(GATEWAY, "PEER_LOGIN_STARTS_PER_WINDOW") or DEFAULT_PEER_STARTS)
    window = int(manifest.setting(GATEWAY, "PEER_LOGIN_WINDOW_SECONDS") or DEFAULT_PEER_WINDOW)
    if starts / window < MIN_STARTS_PER_SECOND:
        raise SystemExit(
            f"{manifest.boundary}: its gateway allows {starts} StartLogin calls per client address per {window} s "
            f"(PEER_LOGIN_STARTS_PER_WINDOW / PEER_LOGIN_WINDOW_SECONDS) and every login of the bench comes from "
            f"this one address: bench a boundary whose settings allow at least {MIN_STARTS_PER_SECOND} per second "
            f"(gatewayauthsessionuser does, playbooks/vars/boundaries.yml)"
        )


def progress(line: str) -> None:
    print(f"[load {' '.join(map(str, load_average()))}] {line}", file=sys.stderr, flush=True)


async def latency(logins: Logins, concurrency: int, warm_up: int, samples: int) -> dict[str, Any]:
    progress(f"latency at concurrency {concurrency}: {warm_up} warm-up + {samples} logins")
    await logins.run(warm_up, concurrency)
    load = load_average()
    phase = await logins.run(samples, concurrency)
    return {
        "concurrency": concurrency,
        "logins": samples,
        "completed": phase.completed,
        "errors": dict(phase.errors),
        "logins_per_s": round(phase.completed / phase.wall, 1),
        "latency_ms": phase.latency_ms(),
        "load_average": [load, load_average()],
    }


def rss_now(pids: dict[str, int]) -> dict[str, float]:
    return {component: memory_mib(pid) for component, pid in sorted(pids.items())}


async def load_run(logins: Logins, manifest: Manifest, count: int, concurrency: int, warm_up: int) -> dict[str, Any]:
    progress(f"load: {count} logins at concurrency {concurrency} (RSS after {warm_up})")
    pids = program_pids(manifest)
    before, load_before = rss_now(pids), load_average()
    cpu_before = {c: cpu_seconds(pid) for c, pid in pids.items()}
    after_warm_up: dict[str, float] = {}

    def sample(done: int) -> None:
        if done == warm_up and not after_warm_up:
            after_warm_up.update(rss_now(pids))

    phase = await logins.run(count, concurrency, on_done=sample)
    end, peak = rss_now(pids), {c: memory_mib(pid, "VmHWM") for c, pid in sorted(pids.items())}
    cpu = {c: round((cpu_seconds(pid) - cpu_before[c]) * 1000 / count, 2) for c, pid in sorted(pids.items())}
    restarted = sorted(c for c, pid in program_pids(manifest).items() if pids.get(c) != pid)
    return {
        "logins": count,
        "concurrency": concurrency,
        "completed": phase.completed,
        "errors": dict(phase.errors),
        "error_count": sum(phase.errors.values()),
        "logins_per_s": round(phase.completed / phase.wall, 1),
        "latency_ms": phase.latency_ms(),
        "cpu_ms_per_login": cpu,
        "rss_mib": {"before": before, "after_warm_up": after_warm_up, "end": end, "peak": peak},
        "rss_growth_after_warm_up_mib": {c: round(end[c] - after_warm_up[c], 1) for c in end if c in after_warm_up},
        "restarted": restarted,
        "load_average": [load_before, load_average()],
    }


async def one_run(manifest: Manifest, args: argparse.Namespace, *, with_load: bool) -> dict[str, Any]:
    async with operator_client(manifest, MAIL_STUB) as operator:
        logins = Logins(manifest.endpoint(GATEWAY), OperatorCodes(operator, within=CODE_WITHIN))
        run: dict[str, Any] = {
            "latency": [await latency(logins, c, args.warm_up, args.samples) for c in args.concurrency]
        }
        if with_load:
            run["load"] = await load_run(logins, manifest, args.load, args.load_concurrency, args.load_warm_up)
    return run


def median_figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per figure, the median over the runs."""

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 2)

    latency = []
    for index, phase in enumerate(runs[0]["latency"]):
        same = [run["latency"][index] for run in runs]
        latency.append(
            {
                "concurrency": phase["concurrency"],
                "logins_per_s": med([p["logins_per_s"] for p in same]),
                "errors": sum(sum(p["errors"].values()) for p in same),
                "latency_ms": {
                    series: {k: med([p["latency_ms"][series][k] for p in same]) for k in figures}
                    for series, figures in phase["latency_ms"].items()
                },
            }
        )
    loads = [run["load"] for run in runs if "load" in run]
    components = sorted(loads[0]["rss_mib"]["end"])
    return {
        "latency": latency,
        "load": {
            "logins_per_s": med([lo["logins_per_s"] for lo in loads]),
            "errors": sum(lo["error_count"] for lo in loads),
            "login_ms": {
                k: med([lo["latency_ms"]["login"][k] for lo in loads]) for k in loads[0]["latency_ms"]["login"]
            },
            "cpu_ms_per_login": {c: med([lo["cpu_ms_per_login"][c] for lo in loads]) for c in components},
            "rss_growth_after_warm_up_mib": {
                c: med([lo["rss_growth_after_warm_up_mib"].get(c, 0.0) for lo in loads]) for c in components
            },
            "peak_rss_mib": {c: max(lo["rss_mib"]["peak"][c] for lo in loads) for c in components},
            "rss_first_run_before_mib": loads[0]["rss_mib"]["before"],
            "rss_last_run_end_mib": loads[-1]["rss_mib"]["end"],
            "restarted": sorted({c for lo in loads for c in lo["restarted"]}),
        },
    }


def table(boundary: str, figures: dict[str, Any], load: list[float]) -> str:
    runs = f"median of {figures['runs']} runs ({figures['load_runs']} with the load run)"
    rows: list[tuple[str, object]] = [(f"{boundary}, {runs}, load average {load}", "")]
    for phase in figures["median"]["latency"]:
        c, ms = phase["concurrency"], phase["latency_ms"]["login"]
        rows += [(f"login c={c}: p50 / p95 / p99 ms", f"{ms['p50']} / {ms['p95']} / {ms['p99']}")]
        rows += [(f"login c={c}: logins/s, errors", f"{phase['logins_per_s']}, {phase['errors']}")]
    lo = figures["median"]["load"]
    rows += [
        ("load: logins/s", lo["logins_per_s"]),
        ("load: errors (all runs)", lo["errors"]),
        ("load: login p50 / p99 ms", f"{lo['login_ms']['p50']} / {lo['login_ms']['p99']}"),
        ("load: programs restarted", ", ".join(lo["restarted"]) or "none"),
    ]
    rows += [(f"CPU ms per login: {c}", v) for c, v in lo["cpu_ms_per_login"].items()]
    rows += [(f"RSS growth after warm-up MiB: {c}", v) for c, v in lo["rss_growth_after_warm_up_mib"].items()]
    rows += [(f"peak RSS MiB: {c}", v) for c, v in lo["peak_rss_mib"].items()]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value!s:>18}" for name, value in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boundary", default=BOUNDARY, help="a boundary with a gateway, authsession, mail stub")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--load-runs", type=int, default=1, help="how many of the runs end with the load run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32], help="latency phases")
    parser.add_argument("--samples", type=int, default=1000, help="logins measured per latency phase")
    parser.add_argument("--warm-up", type=int, default=100, help="logins before each latency phase, not counted")
    parser.add_argument("--load", type=int, default=10_000, help="logins of the load run")
    parser.add_argument("--load-concurrency", type=int, default=16)
    parser.add_argument("--load-warm-up", type=int, default=1000, help="logins of the load run before RSS")
    parser.add_argument("--out", type=Path, default=None, help="JSON output (default reports/bench/login-...)")
    args = parser.parse_args()
    if min(args.runs, args.samples, args.load, args.load_concurrency, *args.concurrency) < 1:
        parser.error("--runs, --samples, --load and every concurrency must be at least 1")
    if not 1 <= args.load_runs <= args.runs:
        parser.error("--load-runs must be between 1 and --runs")
    if not 0 < args.load_warm_up < args.load:
        parser.error("--load-warm-up must be between 1 and --load - 1")
    manifest = manifest_of(args.boundary)
    check_peer_budget(manifest)
    load = load_average()
    first_load = args.runs - args.load_runs
    runs = [asyncio.run(one_run(manifest, args, with_load=n >= first_load)) for n in range(args.runs)]
    figures = {
        "boundary": args.boundary,
        "runs": args.runs,
        "load_runs": args.load_runs,
        "load_average_at_start": load,
        "load_average_at_end": load_average(),
        "median": median_figures(runs),
        "all_runs": runs,
    }
    print(table(args.boundary, figures, load))
    out = args.out or ROOT / "reports" / "bench" / f"login-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written: {out}")
    return 0 if figures["median"]["load"]["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
