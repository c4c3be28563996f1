"""The per-boundary summary counts what the JUnit report says."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from galaxylab import summary

REPORT = """<?xml version="1.0"?>
<testsuites><testsuite name="pytest">
  <testcase classname="tests.boundaries.gatewayuser.test_account" name="test_read" time="0.5"/>
  <testcase classname="tests.boundaries.gatewayuser.test_account" name="test_bad"><failure message="x"/></testcase>
  <testcase classname="tests.boundaries.authsessionuser.test_login" name="test_once" time="1.0"/>
  <testcase classname="tests.boundaries.authsessionuser.test_login" name="test_down"><skipped/></testcase>
</testsuite></testsuites>
"""


def write(tmp_path: Path) -> Path:
    report = tmp_path / "boundaries.xml"
    report.write_text(REPORT)
    return report


def test_tally_groups_by_boundary(tmp_path: Path) -> None:
    rows = summary.tally(write(tmp_path))
    assert list(rows) == ["authsessionuser", "gatewayuser"]
    assert (rows["gatewayuser"].passed, rows["gatewayuser"].failed) == (1, 1)
    assert rows["gatewayuser"].failures == ["test_bad"]
    assert (rows["authsessionuser"].passed, rows["authsessionuser"].skipped) == (1, 1)


def test_main_fails_when_a_boundary_failed(tmp_path: Path) -> None:
    assert summary.main([str(write(tmp_path))]) == 1


def test_main_fails_when_a_boundary_only_skipped(tmp_path: Path) -> None:
    report = tmp_path / "skipped.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.boundaries.gatewayuser.test_a" name="test_x"><skipped/></testcase>'
        "</testsuite></testsuites>"
    )
    assert summary.main([str(report)]) == 1


def test_main_passes_when_every_boundary_passed(tmp_path: Path) -> None:
    report = tmp_path / "green.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.boundaries.gatewayuser.test_a" name="test_x"/>'
        "</testsuite></testsuites>"
    )
    assert summary.main([str(report)]) == 0


def test_main_fails_without_a_report(tmp_path: Path) -> None:
    assert summary.main([str(tmp_path / "missing.xml")]) == 1


def test_render_names_every_boundary_and_failure(tmp_path: Path) -> None:
    console = Console(record=True, width=120)
    summary.render(summary.tally(write(tmp_path)), console)
    text = console.export_text()
    for expected in ("gatewayuser", "authsessionuser", "FAIL", "test_bad"):
        assert expected in text
