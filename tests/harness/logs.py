"""Program logs as the lab wrote them, read through the component's host (testinfra)."""

from __future__ import annotations

import testinfra

from tests.harness.manifest import Manifest


def read(manifest: Manifest, component: str) -> str:
    """The whole log of ``component`` on its host ("" when it has not written one yet)."""
    spec = manifest.component(component)
    log = testinfra.get_host(manifest.host(spec.host).testinfra).file(spec.log)
    return log.content_string if log.exists else ""
