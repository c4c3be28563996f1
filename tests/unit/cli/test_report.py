"""The failure-explaining pytest plugin: a failed boundary test's reports carry the re-run command,
the boundary's process states and each program's log tail, with every secret value redacted."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.unit.cli.conftest import REPO, SECRET, write_lab


def run_suite(tmp_path: Path, *args: str, state: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """pytest with the plugin over a project whose tests/boundaries/gatewayuser has a passing, a failing
    and a disruptive test, and whose tests/lab has a state check and a heal check."""
    project = tmp_path / "project"
    suite = project / "tests" / "boundaries" / "gatewayuser"
    suite.mkdir(parents=True)
    (project / "pytest.ini").write_text("[pytest]\nmarkers =\n    disruptive: d\n    lab_state: s\n    lab_heal: h\n")
    (suite / "test_flow.py").write_text(
        textwrap.dedent(
            """\
            import pytest

            def test_passes():
                pass

            def test_reads_the_account():
                assert False, "the account was not found"

            @pytest.mark.disruptive
            def test_stops_the_gateway():
                pass
            """
        )
    )
    lab = project / "tests" / "lab"
    lab.mkdir()
    (lab / "test_lab.py").write_text(
        "import pytest\n\n@pytest.mark.lab_state\ndef test_state():\n    pass\n\n"
        "@pytest.mark.lab_heal\ndef test_heal():\n    pass\n"
    )
    out = tmp_path / "out"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
        "GALAXYLAB_STATE_DIR": str(state),
    }
    command = [
        sys.executable, "-m", "pytest", "-p", "galaxylab.cli.report", "-p", "no:cacheprovider",
        f"--junitxml={out / 'junit.xml'}", f"--html={out / 'report.html'}", "--self-contained-html",
        f"--galaxylab-events={out / 'events.jsonl'}", *args,
    ]  # fmt: skip
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False), out


def properties(junit: Path, test: str) -> dict[str, str]:
    root = ET.parse(junit).getroot()
    case = next(c for c in root.iter("testcase") if c.get("name") == test)
    return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One run shared by the tests that read its reports."""
    tmp_path = tmp_path_factory.mktemp("failed-run")
    write_lab(tmp_path / "state", tmp_path / "hosts", "gatewayuser")
    result, out = run_suite(tmp_path, state=tmp_path / "state")
    assert result.returncode == 1, result.stdout + result.stderr
    return result, out


def test_the_junit_report_says_how_to_rerun_just_that_test(failed_run: tuple[object, Path]) -> None:
    props = properties(failed_run[1] / "junit.xml", "test_reads_the_account")
    assert props["galaxylab: re-run just this test"] == (
        "galaxylab check gatewayuser -k test_reads_the_account\n"
        "pytest tests/boundaries/gatewayuser/test_flow.py::test_reads_the_account"
    )


def test_the_junit_report_holds_the_process_states(failed_run: tuple[object, Path]) -> None:
    states = properties(failed_run[1] / "junit.xml", "test_reads_the_account")["galaxylab: supervisord"]
    assert "gatewayuser-redis" in states
    assert "RUNNING   pid 101, uptime 0:01:02" in states
    assert "gatewayuser-gateway" in states
    assert "FATAL" in states
    assert "Exited too quickly" in states


def test_the_reports_hold_each_program_log_tail(failed_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, out = failed_run
    props = properties(out / "junit.xml", "test_reads_the_account")
    gateway = next(value for name, value in props.items() if name.startswith("galaxylab: log gatewayuser-gateway"))
    assert "gateway crashed: the last line" in gateway
    assert "redis ready" in next(v for n, v in props.items() if n.startswith("galaxylab: log gatewayuser-redis"))
    html = (out / "report.html").read_text()
    assert "gateway crashed: the last line" in html
    assert "galaxylab check gatewayuser -k test_reads_the_account" in html
    assert "gateway crashed: the last line" in result.stdout  # the terminal shows it too


def test_no_secret_reaches_a_report(failed_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    result, out = failed_run
    assert "Bearer [redacted]" in (out / "report.html").read_text()
    for text in (result.stdout, (out / "junit.xml").read_text(), (out / "report.html").read_text()):
        assert SECRET not in text


def test_a_passing_test_carries_nothing(failed_run: tuple[object, Path]) -> None:
    assert properties(failed_run[1] / "junit.xml", "test_passes") == {}


def test_no_disruptive_skips_and_counts_them(tmp_path: Path) -> None:
    result, out = run_suite(tmp_path, "--galaxylab-no-disruptive", "-k", "not reads", state=tmp_path / "state")
    assert "--no-disruptive: skipping 1 disruptive tests" in result.stdout
    events = (out / "events.jsonl").read_text()
    assert events.count('"disruptive_skipped": true') == 1
    skipped = ET.parse(out / "junit.xml").getroot().iter("skipped")
    assert ["--no-disruptive" in (s.get("message") or "") for s in skipped] == [True]


def test_lab_state_keeps_only_the_state_checks_of_tests_lab(tmp_path: Path) -> None:
    result, out = run_suite(tmp_path, "--galaxylab-lab-state", "-k", "not reads", state=tmp_path / "state")
    names = {c.get("name") for c in ET.parse(out / "junit.xml").getroot().iter("testcase")}
    assert "test_state" in names
    assert "test_heal" not in names
    assert "test_passes" in names
    assert "2 deselected" in result.stdout  # test_heal by the plugin, test_reads_the_account by -k
