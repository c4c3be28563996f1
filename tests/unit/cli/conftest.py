"""A project with a lab that is "up" in a temp state dir: manifests whose host is this machine (local://),
logs and secret files in a temp dir, and a supervisorctl that is a script printing fixed states."""

from __future__ import annotations

import stat
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from galaxylab.manifest import Manifest
from tests.unit.harness.manifests import manifest_for

REPO = Path(__file__).resolve().parents[3]
SECRET = "s3cr3t-token-value-0123456789"


@pytest.fixture
def project(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The repository as the project, a temp state dir (no lab) and no inherited playbook arguments."""
    monkeypatch.setenv("GALAXYLAB_PROJECT_DIR", str(REPO))
    monkeypatch.setenv("GALAXYLAB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("GALAXYLAB_PLAYBOOK_ARGS", raising=False)
    return REPO


def fake_supervisorctl(directory: Path, lines: list[str]) -> str:
    script = directory / "supervisorctl"
    body = "\n".join(lines)
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{body}\nEOF\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def write_lab(state: Path, directory: Path, boundary: str) -> Manifest:
    """``boundary``'s manifest in ``state`` (ports 1..3: nothing listens), its logs and secrets in ``directory``."""
    root = directory / boundary
    root.mkdir(parents=True)
    supervisorctl = fake_supervisorctl(
        root,
        [
            f"{boundary}:{boundary}-redis   RUNNING   pid 101, uptime 0:01:02",
            f"{boundary}:{boundary}-gateway   FATAL     Exited too quickly (process log may have details)",
            f"{boundary}:{boundary}-user   STOPPED   Not started",
        ],
    )
    manifest = manifest_for(
        boundary, root=str(root), redis_port=1, components={"gateway": 2, "user": 3}, supervisorctl=supervisorctl
    )
    (root / "service-tokens.json").write_text(f'{{"lab": "{SECRET}"}}')
    (root / "gateway.log").write_text(
        textwrap.dedent(
            f"""\
            gateway starting
            sent Authorization: Bearer {SECRET}
            gateway crashed: the last line
            """
        )
    )
    (root / "redis.log").write_text("redis ready\n")
    manifests = state / "manifests"
    manifests.mkdir(parents=True, exist_ok=True)
    (manifests / f"{boundary}.json").write_text(manifest.model_dump_json())
    return manifest


@pytest.fixture
def lab(project: Path, tmp_path: Path) -> Callable[[str], Manifest]:
    """``lab("gatewayuser")`` writes that boundary's manifest into the temp state dir."""
    return lambda boundary: write_lab(tmp_path / "state", tmp_path / "hosts", boundary)


@pytest.fixture(autouse=True)
def _no_real_playbook(monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit test must never provision: an ansible-playbook run here would converge the machine's real lab
    (new secrets copied under running services). A test that gets that far fails instead."""
    from galaxylab.cli import playbook

    def refuse(*args: object, **kwargs: object) -> None:
        pytest.fail("a CLI unit test reached ansible-playbook: stop it at the check it tests", pytrace=False)

    monkeypatch.setattr(playbook, "run", refuse)
