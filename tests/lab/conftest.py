"""Checks of the provisioned lab, driven only by the manifests in ``<state dir>/manifests/``.

Run after bring-up, in this order (see the Makefile): ``-m lab_state``, the boundary
suites, ``-m lab_idempotence``, ``-m lab_heal``, then ``-m lab_teardown``, which tears the
lab down and is skipped unless selected by name (it is destructive).
"""

from __future__ import annotations

import pytest

from tests.harness.manifest import BRING_UP_HINT, state_dir, under_ci
from tests.lab.provisioned import Supervised, manifests, settled_supervisor_status

DESTRUCTIVE = "lab_teardown"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = DESTRUCTIVE in (config.option.markexpr or "")
    for item in items:
        if item.get_closest_marker(DESTRUCTIVE) and not selected:
            reason = f"destructive (tears the lab down): select it with -m {DESTRUCTIVE}"
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session", autouse=True)
def _lab_is_up(request: pytest.FixtureRequest) -> None:
    if not manifests():
        reason = f"no manifests in {state_dir() / 'manifests'}: {BRING_UP_HINT}"
        if under_ci():
            pytest.fail(f"{reason} (CI=true: a missing lab is a failure, not a skip)", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def supervised() -> Supervised:
    """One ``supervisorctl status`` per host for every state check that reads states or pids. The state
    checks come first in a run (collection order, on every xdist worker too), before any boundary test
    could stop or restart a program; the checks that stop programs (lab_heal) read supervisord themselves. A
    program still STARTING right after a bring-up is waited for (seconds at most)."""
    return settled_supervisor_status()


@pytest.fixture(scope="session")
def states(supervised: Supervised) -> dict[str, str]:
    return supervised.states


@pytest.fixture(scope="session")
def pids(supervised: Supervised) -> dict[str, int]:
    return supervised.pids
