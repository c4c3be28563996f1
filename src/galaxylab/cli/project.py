"""Where the lab's sources, state and reports are, and the manifests of the lab that is up."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from galaxylab import manifest as lab_manifest
from galaxylab.cli.errors import OperatorError, unknown_boundaries
from galaxylab.manifest import Manifest

PROJECT_ENV = "GALAXYLAB_PROJECT_DIR"
BOUNDARIES_FILE = Path("playbooks/vars/boundaries.yml")


def find_project(start: Path | None = None) -> Path:
    """``$GALAXYLAB_PROJECT_DIR``, else the nearest directory (from the cwd up) holding the lab's playbooks."""
    configured = os.environ.get(PROJECT_ENV)
    if configured:
        return Path(configured).resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "ansible.cfg").is_file() and (candidate / BOUNDARIES_FILE).is_file():
            return candidate
    raise OperatorError(
        "no_project",
        f"no Galaxy lab project at or above {here}: run galaxylab from the repository (or set {PROJECT_ENV})",
    )


@dataclass(frozen=True)
class Project:
    root: Path

    @classmethod
    def here(cls) -> Project:
        return cls(find_project())

    @property
    def state_dir(self) -> Path:
        return lab_manifest.state_dir(self.root)

    @property
    def manifests_dir(self) -> Path:
        return lab_manifest.manifests_dir(self.root)

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def boundary_table(self) -> list[dict[str, Any]]:
        """``galaxylab_boundaries`` of playbooks/vars/boundaries.yml (every boundary the lab knows)."""
        data = yaml.safe_load((self.root / BOUNDARIES_FILE).read_text()) or {}
        table = data.get("galaxylab_boundaries") or []
        return [dict(item) for item in table if isinstance(item, dict)]

    def boundary_names(self) -> list[str]:
        return [str(item.get("name")) for item in self.boundary_table()]

    def inventory(self, path: str) -> Path:
        """The inventory path, relative to the project; an operator error when it does not exist."""
        candidate = Path(path)
        resolved = candidate if candidate.is_absolute() else self.root / candidate
        if not resolved.exists():
            inventories = sorted(p.relative_to(self.root).as_posix() for p in (self.root / "inventory").iterdir())
            raise OperatorError(
                "no_inventory",
                f"inventory {path} does not exist (inventories here: {', '.join(inventories) or 'none'})",
            )
        return resolved

    def manifests(self) -> list[Manifest]:
        """Every manifest of the lab that is up; an operator error when there is none or one is invalid."""
        directory = self.manifests_dir
        try:
            found = lab_manifest.load_all(directory) if directory.is_dir() else []
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise OperatorError(
                "invalid_manifest",
                f"a manifest in {directory} does not validate ({where}: {first['msg']}): run galaxylab up again",
            ) from None
        if not found:
            raise OperatorError(
                "lab_not_up", f"the lab is not up (no manifests in {directory}): run `galaxylab up` first"
            )
        return found

    def select(self, names: Sequence[str]) -> list[Manifest]:
        """The manifests of the named boundaries (all when none is named), in the order asked."""
        manifests = {m.boundary: m for m in self.manifests()}
        if not names:
            return list(manifests.values())
        unknown = [name for name in names if name not in manifests]
        if unknown:
            defined = self.boundary_names()
            really_unknown = [name for name in unknown if name not in defined]
            if really_unknown:
                raise unknown_boundaries(really_unknown, sorted(set(defined) | set(manifests)))
            raise OperatorError(
                "boundary_not_up",
                f"boundary {', '.join(unknown)} is not up (up: {', '.join(manifests)}): "
                f"run `galaxylab up {' '.join(unknown)}` first",
            )
        return [manifests[name] for name in dict.fromkeys(names)]
