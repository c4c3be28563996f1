"""/healthz is more than a readiness wait: 503 naming Redis while the boundary's Redis is down, 200 after."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial

import httpx
import pytest

from galaxy_contracts.http import tls_context
from tests.harness.manifest import Manifest
from tests.harness.processes import ProcessControl
from tests.harness.waits import until

pytestmark = pytest.mark.disruptive
PROBE_TIMEOUT = 5.0


def redis_users(manifest: Manifest) -> list[str]:
    return sorted(name for name, c in manifest.components.items() if "REDIS_URL" in c.settings)


def health(manifest: Manifest, component: str, status: int) -> httpx.Response | None:
    """The /healthz answer once it has ``status``, else None (a refused connection counts as not yet)."""
    try:
        answer = httpx.get(manifest.component(component).healthz, timeout=PROBE_TIMEOUT, verify=tls_context())
    except httpx.HTTPError:
        return None
    return answer if answer.status_code == status else None


def answers(manifest: Manifest, services: list[str], status: int, what: str) -> list[httpx.Response]:
    """Each service's /healthz once it answers ``status``, the services probed side by side (each may take up
    to its own check timeout to say 503)."""

    def wait(name: str) -> httpx.Response:
        answer = until(partial(health, manifest, name, status), within=15, what=f"{name} /healthz {what}")
        assert answer is not None
        return answer

    with ThreadPoolExecutor(max_workers=len(services)) as probes:
        return list(probes.map(wait, services))


def test_every_service_answers_503_naming_redis_while_it_is_down_and_200_after(
    manifest: Manifest, processes: ProcessControl
) -> None:
    services = redis_users(manifest)
    assert services, "the boundary has services that use Redis"
    with processes.stopped("redis"):
        for name, answer in zip(services, answers(manifest, services, 503, "503"), strict=True):
            assert "redis" in answer.text.lower(), f"{name}: {answer.text}"
    answers(manifest, services, 200, "200 again")
