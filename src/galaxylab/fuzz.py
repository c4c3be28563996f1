"""Live contract fuzzing: schemathesis, every phase, against each HTTP service of a running lab.

``python -m galaxylab.fuzz [--seed N|random] [--max-examples N] [--boundary B ...] [--every-boundary]``

Targets, base URLs and credentials come from the lab's manifests (``<state dir>/manifests/*.json``);
each credential file they name is read on the boundary's secrets host (testinfra, local or SSH), the
way the harness reads it. Every component that speaks a contract of ``contracts/http`` is fuzzed:
the services and the doubles standing in for them (a double must answer what its service answers).
By default each kind is fuzzed once, in the boundary where it has the most real services beside it
(the same wheel runs in every boundary; the boundary changes only its wiring, which the boundary suites
prove); ``--every-boundary`` fuzzes every component of every boundary.

Each target gets two schemathesis runs (``schemathesis run``, one process each, its config in a private
0600 file so no credential reaches a command line, the environment or the output):

- **authenticated** (the lab's service token; Mail's operator routes the operator token): phases
  examples, coverage, fuzzing and stateful (the contracts' OpenAPI links), every check;
- **anonymous** (no credential, or a generated wrong one): examples and fuzzing; every response must conform, and
  valid requests to a secured operation must get 401.

The seed is printed and recorded (``<report dir>/summary.json``); the same seed against the same lab
replays the same requests. A failure prints the request as a ``curl`` command (credentials masked)
and the run exits 1. JUnit per run in the report dir.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import testinfra

from galaxy_contracts import SPEC_DIR
from galaxylab.manifest import Component, Manifest, load_all, manifests_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
# Fixed, so two runs against the same lab send the same requests (CI); `--seed random` draws one.
DEFAULT_SEED = 20260101
DEFAULT_MAX_EXAMPLES = 8
STATEFUL_MAX_STEPS = 6
REQUEST_TIMEOUT_SECONDS = 10.0
AUTH_MODES = {"both": (True, False), "authenticated": (True,), "anonymous": (False,)}
LAB_CALLER = "lab"
ALL_PHASES = ("examples", "coverage", "fuzzing", "stateful")
# Response checks of the anonymous run (no credential): conformance of every answer, and no 5xx.
ANONYMOUS_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
)


@dataclass(frozen=True)
class Kind:
    """How a kind of component is fuzzed: its contract and the operations it serves."""

    contract: str
    double: bool = False
    served: str | None = None
    """Regex of the paths the component serves (a double may speak part of its contract)."""


KINDS = {
    "user": Kind("user"),
    "user-stub": Kind("user", double=True),
    "authsession": Kind("authsession"),
    "mail": Kind("mail"),
    # The mail double speaks the service part only (src/galaxylab/stubs/README.md), no operator surface.
    "mail-stub": Kind("mail", double=True, served="^/v1/deliveries"),
}

# What a request the schema calls valid may still get: refusals the schema cannot state. Everything
# else the services check is in the contracts' schemas (patterns, formats, lengths, enums).
DOMAIN_STATUSES: dict[str, dict[str, tuple[str, ...]]] = {
    "user": {
        # A generated user_id names no account.
        "getAccount": ("200", "404"),
        "updateAccount": ("200", "404"),
        "blockAccount": ("200", "404"),
        "unblockAccount": ("200", "404"),
    },
    "authsession": {
        # Five starts per e-mail address and window; generated data repeats addresses.
        "startChallenge": ("201", "429"),
        # A generated code is wrong (401), a generated id names no challenge (404), attempts run out
        # (429), a stateful run may confirm for a blocked account (403).
        "confirmChallenge": ("200", "401", "403", "404", "429"),
        "getSession": ("200", "404"),
    },
    "mail": {
        # Which templates exist and which params each needs is the catalog's (streams/catalog.yaml),
        # and a key already used with another body is refused: both 422.
        "createDelivery": ("200", "202", "422"),
        "getDelivery": ("200", "404"),
        "operatorGetDelivery": ("200", "404"),
    },
}

# Operations open to anyone (``security: []``): valid data gets its success status with no credential.
PUBLIC_OPERATIONS: dict[str, dict[str, tuple[str, ...]]] = {"authsession": {"listKeys": ("200",)}}


@dataclass(frozen=True)
class Target:
    boundary: str
    name: str
    component: Component
    manifest: Manifest

    @property
    def kind(self) -> Kind:
        return KINDS[self.component.kind]

    @property
    def label(self) -> str:
        return f"{self.boundary}/{self.name}"


@dataclass(frozen=True)
class Credentials:
    service: str
    operator: str

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"


@dataclass(frozen=True)
class Run:
    target: Target
    authenticated: bool

    @property
    def label(self) -> str:
        return f"{self.target.label} ({'authenticated' if self.authenticated else 'anonymous'})"

    @property
    def slug(self) -> str:
        return f"{self.target.boundary}-{self.target.name}-{'auth' if self.authenticated else 'anon'}"


@dataclass(frozen=True)
class Outcome:
    run: Run
    returncode: int
    output: str
    seconds: float

    @property
    def passed(self) -> bool:
        return self.returncode == 0


class NoLab(Exception):
    """No manifest to read: the lab is not up (or the state dir is another one)."""


def targets(manifests: Iterable[Manifest], every_boundary: bool = False) -> list[Target]:
    """Each component speaking a contract; one per kind unless ``every_boundary``."""
    found = [
        Target(m.boundary, name, component, m)
        for m in manifests
        for name, component in sorted(m.components.items())
        if component.kind in KINDS and component.url
    ]
    if every_boundary:
        return found
    chosen: dict[str, Target] = {}
    for target in sorted(found, key=lambda t: (-_real_services(t.manifest), t.boundary, t.name)):
        chosen.setdefault(target.component.kind, target)
    return sorted(chosen.values(), key=lambda t: (t.boundary, t.name))


def _real_services(manifest: Manifest) -> int:
    return sum(1 for c in manifest.components.values() if not c.kind.endswith(("-stub", "-sink")))


def read_credentials(manifest: Manifest) -> Credentials:
    """The lab's service token and the operator token, read where the manifest says they are."""
    spec = manifest.secrets
    host = testinfra.get_host(manifest.host(spec.host).testinfra)

    def read(path: str) -> str:
        file = host.file(path)
        if not file.is_file:
            raise NoLab(f"{manifest.boundary}: credential file {path} is missing on host {spec.host}")
        return str(file.content_string).strip()

    return Credentials(service=read(spec.caller_tokens[LAB_CALLER]), operator=read(spec.operator_token))


def contract_path(kind: Kind) -> Path:
    return SPEC_DIR / "http" / f"{kind.contract}.openapi.yaml"


@dataclass(frozen=True)
class Options:
    seed: int = DEFAULT_SEED
    max_examples: int = DEFAULT_MAX_EXAMPLES
    phases: tuple[str, ...] = ALL_PHASES
    report_dir: Path = REPO_ROOT / "reports" / "fuzz"
    jobs: int = 2
    modes: tuple[bool, ...] = AUTH_MODES["both"]
    """Authenticated (True) and/or anonymous (False) runs."""


def config(run: Run, credentials: Credentials, options: Options) -> dict[str, Any]:
    """The run's schemathesis.toml, as data."""
    kind = run.target.kind
    operations: list[dict[str, Any]] = []
    if kind.served:
        operations.append({"exclude-path-regex": kind.served, "enabled": False})
    phases = options.phases
    if run.authenticated:
        headers = {"Authorization": f"Bearer {credentials.service}"}
        if kind.contract == "mail" and not kind.served:
            operator = {"Authorization": f"Bearer {credentials.operator}"}
            operations.append({"include-path-regex": "^/v1/operator/", "headers": operator})
        operations += _expected(DOMAIN_STATUSES[kind.contract])
        checks: dict[str, Any] = {"enabled": True}
    else:
        headers = {}
        checks = {"enabled": False, **{name: {"enabled": True} for name in ANONYMOUS_CHECKS}}
        # Without a credential (or with a generated, wrong one) a valid request to a secured operation is
        # refused, and only so: 401, or 403 where the contract says a wrong credential is forbidden.
        checks["positive_data_acceptance"] = {"enabled": True, "expected-statuses": ["401", "403"]}
        operations += _expected(PUBLIC_OPERATIONS.get(kind.contract, {}))
        # Links start from answers only a credential gets; the coverage phase's boundary values all meet the
        # same 401 first (examples and fuzzing still vary every part of the request).
        phases = tuple(p for p in phases if p not in ("coverage", "stateful"))
    return {
        "base-url": run.target.component.url,
        "headers": headers,
        "request-timeout": REQUEST_TIMEOUT_SECONDS,
        "workers": 1,
        "color": False,
        "generation": {"mode": "all", "max-examples": options.max_examples, "database": "none"},
        "phases": {
            name: {"enabled": name in phases} | ({"max-steps": STATEFUL_MAX_STEPS} if name == "stateful" else {})
            for name in ALL_PHASES
        },
        "checks": checks,
        "operations": operations,
        "reports": {"junit": {"enabled": True, "path": str(options.report_dir / f"{run.slug}.xml")}},
    }


def _expected(statuses: dict[str, tuple[str, ...]]) -> list[dict[str, Any]]:
    return [
        {"include-operation-id": op, "checks": {"positive_data_acceptance": {"expected-statuses": list(codes)}}}
        for op, codes in statuses.items()
    ]


def toml(data: dict[str, Any]) -> str:
    """TOML of ``data`` (top-level keys, inline tables and arrays; JSON string escapes are TOML's)."""
    return "".join(f"{_key(key)} = {_value(value)}\n" for key, value in data.items())


def _key(key: str) -> str:
    return key if key.replace("-", "").replace("_", "").isalnum() else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {type(value).__name__}")


def command(config_file: Path, run: Run, seed: int) -> list[str]:
    """``schemathesis run`` of one target, from this interpreter's environment."""
    return [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config_file),
        "run",
        str(contract_path(run.target.kind)),
        "--seed",
        str(seed),
        "--no-color",
    ]


def execute(run: Run, credentials: Credentials, options: Options) -> Outcome:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="galaxylab-fuzz-") as private:  # 0700: the config holds tokens
        config_file = Path(private) / "schemathesis.toml"
        descriptor = os.open(config_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(toml(config(run, credentials, options)))
        result = subprocess.run(
            command(config_file, run, options.seed),
            capture_output=True,
            text=True,
            check=False,
            cwd=private,  # schemathesis writes nothing of its own into the repository
            env=_environment(),
        )
    output = result.stdout + (f"\n{result.stderr}" if result.stderr.strip() else "")
    return Outcome(run, result.returncode, output, time.monotonic() - started)


def _environment() -> dict[str, str]:
    """This process's environment, without schemathesis's own settings (the run's config is the file)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")}


def fuzz(chosen: Sequence[Target], options: Options) -> list[Outcome]:
    """Every run of every target, ``options.jobs`` at once; outcomes in the order of the targets."""
    credentials = {t.boundary: read_credentials(t.manifest) for t in chosen}
    runs = [Run(target, authenticated) for target in chosen for authenticated in options.modes]
    options.report_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=options.jobs) as pool:
        futures = [pool.submit(execute, run, credentials[run.target.boundary], options) for run in runs]
        return [future.result() for future in futures]


def summary(outcomes: Sequence[Outcome], options: Options, seconds: float) -> dict[str, Any]:
    return {
        "seed": options.seed,
        "max_examples": options.max_examples,
        "phases": list(options.phases),
        "seconds": round(seconds, 1),
        "passed": all(o.passed for o in outcomes),
        "runs": [
            {
                "target": o.run.target.label,
                "kind": o.run.target.component.kind,
                "url": o.run.target.component.url,
                "authenticated": o.run.authenticated,
                "passed": o.passed,
                "seconds": round(o.seconds, 1),
                "junit": str(options.report_dir / f"{o.run.slug}.xml"),
            }
            for o in outcomes
        ],
    }


def _seed(value: str) -> int:
    if value == "random":
        return secrets.randbelow(2**31)
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer or 'random'") from None


def _phases(value: str) -> tuple[str, ...]:
    phases = tuple(p.strip() for p in value.split(",") if p.strip())
    unknown = sorted(set(phases) - set(ALL_PHASES))
    if unknown or not phases:
        raise argparse.ArgumentTypeError(f"phases are a comma-separated subset of {','.join(ALL_PHASES)}")
    return phases


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m galaxylab.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=_seed, default=DEFAULT_SEED, help=f"integer or 'random' ({DEFAULT_SEED})")
    parser.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES, help="per operation and phase")
    parser.add_argument("--phases", type=_phases, default=ALL_PHASES, help=f"subset of {','.join(ALL_PHASES)}")
    parser.add_argument("--boundary", action="append", default=[], help="only these boundaries (repeatable)")
    parser.add_argument("--kind", action="append", default=[], choices=sorted(KINDS), help="only these kinds")
    parser.add_argument("--every-boundary", action="store_true", help="every component, not one per kind")
    parser.add_argument("--jobs", type=int, default=2, help="schemathesis runs at once (2)")
    parser.add_argument("--auth", choices=sorted(AUTH_MODES), default="both", help="which runs per target (both)")
    parser.add_argument("--verbose", action="store_true", help="print every run's output, not only failed ones")
    parser.add_argument("--state-dir", type=Path, help="the lab's state dir (default: $GALAXYLAB_STATE_DIR or .lab)")
    parser.add_argument("--report-dir", type=Path, default=Options.report_dir, help="JUnit and summary.json")
    return parser.parse_args(argv)


def load_manifests(state_dir: Path | None, boundaries: Sequence[str]) -> list[Manifest]:
    directory = state_dir / "manifests" if state_dir else manifests_dir(REPO_ROOT)
    manifests = load_all(directory) if directory.is_dir() else []
    if boundaries:
        unknown = sorted(set(boundaries) - {m.boundary for m in manifests})
        if unknown:
            known = ", ".join(sorted(m.boundary for m in manifests)) or "none"
            raise NoLab(f"no manifest for boundary {', '.join(unknown)} in {directory} (known: {known})")
        manifests = [m for m in manifests if m.boundary in boundaries]
    if not manifests:
        raise NoLab(f"no lab manifest in {directory}: bring the lab up first (`make up`)")
    return manifests


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    options = Options(args.seed, args.max_examples, args.phases, args.report_dir, args.jobs, AUTH_MODES[args.auth])
    try:
        chosen = targets(load_manifests(args.state_dir, args.boundary), args.every_boundary)
        chosen = [t for t in chosen if not args.kind or t.component.kind in args.kind]
        if not chosen:
            raise NoLab("the lab has no component speaking an HTTP contract (of the kinds asked for)")
        print(f"fuzz: seed {options.seed}, {options.max_examples} examples per operation, {','.join(options.phases)}")
        for target in chosen:
            print(f"  {target.label}: {target.component.kind} at {target.component.url}")
        started = time.monotonic()
        outcomes = fuzz(chosen, options)
    except NoLab as exc:
        print(f"fuzz: {exc}", file=sys.stderr)
        return 2
    report = summary(outcomes, options, time.monotonic() - started)
    (options.report_dir / "summary.json").write_text(json.dumps(report, indent=2) + "\n")
    for outcome in outcomes:
        print(f"\n===== {outcome.run.label}: {'passed' if outcome.passed else 'FAILED'} ({outcome.seconds:.1f} s)")
        if args.verbose or not outcome.passed:
            print(outcome.output)
    failed = [o.run.label for o in outcomes if not o.passed]
    passed = len(outcomes) - len(failed)
    print(f"\nfuzz: {passed}/{len(outcomes)} runs passed in {report['seconds']} s, seed {options.seed}")
    if failed:
        print(f"fuzz: FAILED {', '.join(failed)}; replay with --seed {options.seed}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
