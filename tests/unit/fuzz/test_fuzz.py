"""``galaxylab.fuzz`` against the services and doubles in process: green as they are, red for each planted fault.

The runner reads the in-process lab's manifest and secret files as it reads a real lab's, and runs
schemathesis over loopback HTTP; the budget is tiny (the live run's is in the Makefile).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.types import Scope

from galaxylab import fuzz
from galaxylab.manifest import load_all
from tests.unit.fuzz.lab import KINDS, InProcessLab

SEED = "424242"
Rewrite = Callable[[Scope, int, bytes], tuple[int, bytes] | None]


def run(lab: InProcessLab, reports: Path, *args: str) -> int:
    state = ["--state-dir", str(lab.state_dir), "--report-dir", str(reports)]
    return fuzz.main([*state, "--seed", SEED, "--max-examples", "2", *args])


def test_every_service_and_double_conforms_authenticated_and_anonymous(
    lab: InProcessLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(lab, tmp_path) == 0, capsys.readouterr().out

    out = capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["seed"] == int(SEED)
    assert f"seed {SEED}" in out
    assert sorted((r["kind"], r["authenticated"]) for r in summary["runs"]) == sorted(
        (kind, authenticated) for kind in KINDS for authenticated in (True, False)
    )
    assert all(Path(r["junit"]).is_file() for r in summary["runs"])


def _wrong_type(scope: Scope, status: int, body: bytes) -> tuple[int, bytes] | None:
    """An account answered with ``blocked`` as a string: a 200 body the contract's schema refuses."""
    if status != 200:
        return None
    data = json.loads(body)
    account = data.get("account", data)
    account["blocked"] = "no"
    return status, json.dumps(data).encode()


def _server_error(scope: Scope, status: int, body: bytes) -> tuple[int, bytes] | None:
    """A crash for one kind of input: every profile change."""
    if scope["method"] != "PATCH":
        return None
    problem = {"type": "about:blank", "title": "Internal Server Error", "status": 500, "code": "internal_error"}
    return 500, json.dumps(problem).encode()


def _auth_ignored(scope: Scope, status: int, body: bytes) -> tuple[int, bytes] | None:
    """A request without a valid credential served anyway."""
    return (202, body) if status == 401 else None


AUTHENTICATED = ["--auth", "authenticated", "--phases", "fuzzing"]
ANONYMOUS = ["--auth", "anonymous", "--phases", "examples,fuzzing"]
# plant -> (kind planted in, the fault, runner arguments, what the failure report says)
PLANTS = {
    "wrong field type": ("user", _wrong_type, AUTHENTICATED, "Response violates schema"),
    "server error": ("user", _server_error, AUTHENTICATED, "Server error"),
    "credential ignored": ("mail", _auth_ignored, ANONYMOUS, "Undocumented status code"),
}


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_a_planted_fault_fails_the_run_with_a_request_to_replay(
    plant: str, lab: InProcessLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kind, rewrite, args, finding = PLANTS[plant]
    lab.plants[kind].rewrite = rewrite
    try:
        status = run(lab, tmp_path, "--kind", kind, *args)
    finally:
        lab.plants[kind].rewrite = None

    out = capsys.readouterr().out
    assert status == 1, out
    assert finding in out
    assert "curl -X " in out
    assert lab.urls[kind] in out
    assert f"replay with --seed {SEED}" in out
    tokens = json.loads((lab.state_dir / "secrets" / "inprocess" / "service-tokens.json").read_text())
    leaked = [caller for caller, token in tokens.items() if token in out]
    assert not leaked, f"the output shows the token of {leaked}"
    assert not json.loads((tmp_path / "summary.json").read_text())["passed"]


def test_each_kind_is_fuzzed_once_where_it_has_the_most_real_services_beside_it(lab: InProcessLab) -> None:
    whole = load_all(lab.state_dir / "manifests")[0]
    users = {k: whole.components[k] for k in ("user", "user-stub")}
    small = whole.model_copy(update={"boundary": "a", "components": users})
    big = whole.model_copy(update={"boundary": "b"})

    assert {(t.boundary, t.component.kind) for t in fuzz.targets([small, big])} == {("b", k) for k in KINDS}
    assert len(fuzz.targets([small, big], every_boundary=True)) == len(KINDS) + len(users)


def test_credentials_reach_schemathesis_only_through_a_private_file(lab: InProcessLab, tmp_path: Path) -> None:
    manifest = load_all(lab.state_dir / "manifests")[0]
    credentials = fuzz.read_credentials(manifest)
    run = fuzz.Run(fuzz.targets([manifest])[0], authenticated=True)

    command = " ".join(fuzz.command(tmp_path / "schemathesis.toml", run, 1))

    assert credentials.service not in command
    assert credentials.service in fuzz.toml(fuzz.config(run, credentials, fuzz.Options()))
    assert "hidden" in repr(credentials)
