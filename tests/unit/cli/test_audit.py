"""The secret audit's matching and file selection, in-process (the lab-wide run is ``make audit``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from galaxylab.cli import audit
from galaxylab.cli.output import Output
from galaxylab.cli.project import Project

TOKEN = "tok_" + "x7" * 20


def test_a_secret_is_found_anywhere_in_a_text() -> None:
    needle = audit.Needle("gatewayuser:service-tokens.json", TOKEN)
    assert audit.scan("f", f'{{"authorization": "Bearer {TOKEN}"}}', [needle]) == [
        audit.Hit("f", "gatewayuser:service-tokens.json")
    ]
    assert audit.scan("f", "Bearer [redacted]", [needle]) == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ('{"event": "login code mailed", "code": "424242"}', True),
        ("code=424242", True),
        ("Your code: 424242\n", True),
        ("port 14242420 pid 424242", False),  # no code nearby
        ("code 4242421", False),  # a longer number
        ("took 424242 us", False),
    ],
)
def test_a_login_code_is_found_only_written_as_a_code(text: str, found: bool) -> None:
    needle = audit.Needle("login code", "424242", code=True)
    assert bool(audit.scan("f", text, [needle])) is found


def test_seen_secrets_are_read_from_every_recording(tmp_path: Path) -> None:
    seen = tmp_path / audit.SEEN_DIR
    seen.mkdir()
    (seen / "1.jsonl").write_text(
        json.dumps({"kind": "session token", "value": TOKEN})
        + "\n"
        + json.dumps({"kind": "login code", "value": "123456"})
        + "\n"
    )
    (seen / "2.jsonl").write_text("not json\n" + json.dumps({"kind": "session token", "value": "short"}) + "\n")

    needles = audit.seen_needles(tmp_path)

    assert sorted((n.name, n.value, n.code) for n in needles) == [
        ("login code", "123456", True),
        ("session token", TOKEN, False),
    ]


def test_controller_outputs_exclude_the_secrets_and_the_recordings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("GALAXYLAB_STATE_DIR", str(state))
    for path in ("manifests/b.json", "secrets/b/service-tokens.json", "seen/1.jsonl", "locks/b.lock"):
        (state / path).parent.mkdir(parents=True, exist_ok=True)
        (state / path).write_text("x")
    (tmp_path / "reports" / "run1").mkdir(parents=True)
    (tmp_path / "reports" / "run1" / "report.html").write_text("x")
    extra = tmp_path / "up-vvvv.log"
    extra.write_text("x")

    again = tmp_path / "reports" / "run1" / "report.html"
    files = list(audit.controller_files(Project(tmp_path), [extra, tmp_path / "missing.log", again]))

    assert [p.relative_to(tmp_path).as_posix() for p in files] == [
        "reports/run1/report.html",
        "state/manifests/b.json",
        "up-vvvv.log",
    ]


@pytest.mark.parametrize(
    ("leaks", "canaries", "status"),
    [
        ([], [audit.Hit("h:/r/log/audit-canary.log", audit.CANARY_NAME)], 0),
        ([], [], 1),  # the grep did not see the canary: it proves nothing
        ([audit.Hit("h:/r/log/x.log", "b:operator.token")], [audit.Hit("h:/r/log/audit-canary.log", "canary")], 1),
        ([], [audit.Hit("h:/r/log/audit-canary.log", "canary"), audit.Hit("h:/r/log/x.log", "canary")], 1),
    ],
)
def test_the_verdict_needs_no_leak_and_the_canary_exactly_where_planted(
    leaks: list[audit.Hit], canaries: list[audit.Hit], status: int
) -> None:
    assert audit.report(Output(json=True), 10, 5, leaks, canaries, "h:/r/log/audit-canary.log") == status


def test_a_host_root_skips_secrets_data_releases_and_redis_files() -> None:
    for path in ("/r/etc/b/dump.rdb", "/r/data/b/appendonly.aof.1.incr.aof", "/r/run/supervisor.sock"):
        assert audit.SKIPPED_FILES.search(path), path
    assert not audit.SKIPPED_FILES.search("/r/log/b/gateway.log")


def test_every_tls_private_key_of_the_lab_is_a_needle_and_no_certificate_is(tmp_path: Path) -> None:
    from galaxylab import secrets

    secrets.ensure(tmp_path / "secrets", ["alpha"], [], {"lab-a": "10.0.0.1"})
    key_lines = {
        line
        for name in ("ca.key", "lab-a.key")
        for line in (tmp_path / "secrets" / ".tls" / name).read_text().splitlines()
        if "-----" not in line
    }

    needles = audit.tls_key_needles(tmp_path)

    assert key_lines <= {n.value for n in needles}
    assert {n.name for n in needles} == {"tls:ca.key", "tls:lab-a.key"}
    cert_body = (tmp_path / "secrets" / ".tls" / "lab-a.pem").read_text()
    assert not [n for n in needles if n.found_in(cert_body)]
