"""``up.yml --check --diff``: on the lab that is up it changes nothing and fails nothing; with one config
file edited by hand it names that file and shows the diff bring-up would apply, and leaves the file alone.

Run with the lifecycle checks (``make lifecycle``), from the tree the lab was brought up from (another
tree would rightly report the artifact it would build and the release it would install).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from galaxylab import idempotence
from tests.lab.provisioned import host, manifests

pytestmark = [pytest.mark.lab, pytest.mark.lab_idempotence]

DRY_RUN = ("--check", "--diff")
PLACING_TASK = (
    "lab_root : present | Lay out the lab root and place every rendered file in one call (names what changed)"
)
EDIT = "maxclients 4321"


@dataclass(frozen=True)
class Edited:
    host: str
    path: str
    content_during_run: str
    report: idempotence.RunReport


@pytest.fixture(scope="module")
def dry_run() -> idempotence.RunReport:
    return idempotence.run_playbook("playbooks/up.yml", DRY_RUN)


@pytest.fixture(scope="module")
def edited() -> Iterator[Edited]:
    """The first boundary's redis.conf with one line added by hand, for one check run; restored after."""
    redis = manifests()[0].redis
    target, path = host(redis.host), redis.conf
    backup = f"{path}.galaxylab-check-mode"
    assert target.run(f"cp -p -- {shlex.quote(path)} {shlex.quote(backup)}").rc == 0
    try:
        assert target.run(f"echo {shlex.quote(EDIT)} >> {shlex.quote(path)}").rc == 0
        report = idempotence.run_playbook("playbooks/up.yml", DRY_RUN)
        yield Edited(redis.host, path, target.file(path).content_string, report)
    finally:
        target.run(f"mv -f -- {shlex.quote(backup)} {shlex.quote(path)}")


def test_check_mode_on_the_lab_that_is_up_succeeds(dry_run: idempotence.RunReport) -> None:
    assert dry_run.returncode == 0, dry_run.output[-3000:]


def test_check_mode_on_the_lab_that_is_up_changes_nothing(dry_run: idempotence.RunReport) -> None:
    assert dry_run.tasks, "the run recorded no task: is playbooks/callback_plugins/galaxylab_report.py loaded?"
    assert not dry_run.changed, idempotence.summary(dry_run)


def test_check_mode_names_the_edited_file_and_nothing_else(edited: Edited) -> None:
    assert edited.report.returncode == 0, edited.report.output[-3000:]
    changed = [(task.host, task.task) for task in edited.report.changed]
    assert changed == [(edited.host, PLACING_TASK)], idempotence.summary(edited.report)
    assert edited.report.changed[0].changed_items == [f"{edited.path} (content)"]


def test_check_mode_shows_the_diff_that_bring_up_would_apply(edited: Edited) -> None:
    output = edited.report.output
    assert f"--- before: {edited.path}" in output, output[-3000:]
    assert f"-{EDIT}" in output.splitlines(), output[-3000:]


def test_check_mode_leaves_the_edited_file_alone(edited: Edited) -> None:
    assert EDIT in edited.content_during_run
