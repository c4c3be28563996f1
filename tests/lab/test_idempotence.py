"""A second bring-up changes nothing, names any task that did, and prints no secret."""

from __future__ import annotations

import pytest

from galaxylab import idempotence
from tests.lab.provisioned import manifests
from tests.lab.test_state import secret_values

pytestmark = [pytest.mark.lab, pytest.mark.lab_idempotence]


@pytest.fixture(scope="module")
def rerun() -> idempotence.RunReport:
    return idempotence.run_playbook("playbooks/up.yml")


def test_rerunning_bring_up_succeeds(rerun: idempotence.RunReport) -> None:
    assert rerun.returncode == 0, rerun.output[-3000:]


def test_rerunning_bring_up_changes_nothing(rerun: idempotence.RunReport) -> None:
    assert rerun.tasks, "the run recorded no task: is playbooks/callback_plugins/galaxylab_report.py loaded?"
    assert not rerun.changed, idempotence.summary(rerun)
    assert all(stats["changed"] == 0 for stats in rerun.stats.values()), rerun.stats


def test_bring_up_output_shows_no_secret(rerun: idempotence.RunReport) -> None:
    leaked = [m.boundary for m in manifests() for value in secret_values(m.boundary) if value in rerun.output]
    assert not leaked, f"ansible-playbook printed secrets of {sorted(set(leaked))}"
