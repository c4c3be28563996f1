"""Operator mistakes: one line on stderr saying what is wrong and what to do, exit status 2, no traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from galaxylab.cli import provision
from galaxylab.cli.app import main
from galaxylab.manifest import Manifest


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line(code: int, err: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def inventory(tmp_path: Path, group_vars: str, host_vars: str = "") -> Path:
    """An inventory like inventory/local (localhost, local connection) with the given variables."""
    path = tmp_path / "inventory"
    (path / "group_vars").mkdir(parents=True)
    (path / "hosts.yml").write_text(
        textwrap.dedent(
            """\
            galaxylab:
              hosts:
                localhost:
                  ansible_connection: local
                  galaxylab_address: 127.0.0.1
            """
        )
        + textwrap.indent(host_vars, "      ")
    )
    (path / "group_vars" / "all.yml").write_text(
        ("" if "galaxylab_default_host" in group_vars else "galaxylab_default_host: localhost\n")
        + "galaxylab_root: /opt/galaxylab-cli-unit\n"
        + ("" if "galaxylab_testinfra" in host_vars else "galaxylab_testinfra: 'local://'\n")
        + group_vars
    )
    return path


@pytest.mark.usefixtures("project")
@pytest.mark.parametrize("verb", ["status", "check", "logs"])
def test_a_lab_that_is_not_up(capsys: pytest.CaptureFixture[str], verb: str) -> None:
    code, _, err = run(capsys, verb, *(["gatewayuser"] if verb == "logs" else []))
    line = one_line(code, err)
    assert "the lab is not up" in line
    assert "galaxylab up" in line


@pytest.mark.parametrize("verb", ["status", "check", "logs"])
def test_an_unknown_boundary_lists_the_known_ones(
    capsys: pytest.CaptureFixture[str], lab: Callable[[str], Manifest], verb: str
) -> None:
    lab("gatewayuser")
    line = one_line(*run(capsys, verb, "nosuch")[::2])
    assert "unknown boundary nosuch" in line
    assert "gatewayuser" in line
    assert "gatewayauthsession" in line  # every boundary of playbooks/vars/boundaries.yml is named


def test_a_known_boundary_that_is_not_up(capsys: pytest.CaptureFixture[str], lab: Callable[[str], Manifest]) -> None:
    lab("gatewayuser")
    line = one_line(*run(capsys, "status", "authsessionuser")[::2])
    assert line == (
        "galaxylab: boundary authsessionuser is not up (up: gatewayuser): run `galaxylab up authsessionuser` first"
    )


@pytest.mark.usefixtures("project")
@pytest.mark.parametrize("verb", ["up", "down", "idempotence", "status", "check"])
def test_an_inventory_that_does_not_exist(capsys: pytest.CaptureFixture[str], verb: str) -> None:
    line = one_line(*run(capsys, verb, "--inventory", "inventory/nope")[::2])
    assert "inventory inventory/nope does not exist" in line
    assert "inventory/local" in line


@pytest.mark.usefixtures("project")
@pytest.mark.parametrize("verb", ["up", "down"])
def test_up_or_down_of_an_unknown_boundary(capsys: pytest.CaptureFixture[str], verb: str) -> None:
    line = one_line(*run(capsys, verb, "nosuch")[::2])
    assert line.startswith("galaxylab: unknown boundary nosuch (known: gatewayauthsession, ")


@pytest.mark.usefixtures("project")
def test_a_boundary_names_string_is_not_taken_as_letters(tmp_path: Path) -> None:
    """``galaxylab_boundary_names: "gatewayuser"`` is one name, not g, a, t, e, ..."""
    from galaxylab.cli import inventory as inventory_module

    inv = inventory_module.load(inventory(tmp_path, "galaxylab_boundary_names: gatewayuser\n"))
    assert inv.selection([], ["gatewayuser", "authsessionuser"]) == ["gatewayuser"]


@pytest.mark.usefixtures("project")
@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ("galaxylab_port_offset: lots\n", "galaxylab_port_offset of host localhost must be an integer, not 'lots'"),
        ("galaxylab_placement: [a, b]\n", "galaxylab_placement of host localhost must be a mapping"),
        ("galaxylab_boundary_names: {a: 1}\n", "galaxylab_boundary_names of host localhost must be a list"),
        ("galaxylab_ready_deadline: soon\n", "galaxylab_ready_deadline of host localhost must be a number"),
        (
            "galaxylab_owner: root\n",
            "galaxylab_owner of host localhost must be an unprivileged user or group, not root",
        ),
    ],
)
def test_an_inventory_variable_of_the_wrong_type(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, variables: str, expected: str
) -> None:
    path = inventory(tmp_path, variables)
    line = one_line(*run(capsys, "up", "--inventory", str(path))[::2])
    assert line == f"galaxylab: {path}: {expected}" or expected in line


@pytest.mark.usefixtures("project")
def test_a_relative_lab_root(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = inventory(tmp_path, "", host_vars="galaxylab_root: opt/lab\n")
    line = one_line(*run(capsys, "up", "--inventory", str(path))[::2])
    assert "galaxylab_root of host localhost must be an absolute path, not 'opt/lab'" in line


@pytest.mark.usefixtures("project")
def test_a_default_host_that_is_not_a_lab_host(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = inventory(tmp_path, "galaxylab_default_host: elsewhere\n")
    line = one_line(*run(capsys, "up", "--inventory", str(path))[::2])
    assert "galaxylab_default_host 'elsewhere' is not a host of the group galaxylab (localhost)" in line


@pytest.mark.usefixtures("project")
def test_not_root(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provision, "euid", lambda: 1000)
    line = one_line(*run(capsys, "up", "gatewayuser")[::2])
    assert "galaxylab up provisions localhost as this user, which is not root" in line
    assert "sudo" in line


@pytest.mark.usefixtures("project")
def test_an_unreachable_host(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Port 1 on loopback: ssh is refused at once (nothing listens there).
    url = "ssh://root@127.0.0.1:1?timeout=2"
    path = inventory(tmp_path, "", host_vars=f"galaxylab_testinfra: '{url}'\n")
    line = one_line(*run(capsys, "up", "--inventory", str(path))[::2])
    assert line.startswith(f"galaxylab: host localhost cannot be reached through {url}")
    assert "check the inventory's address, SSH user and key" in line


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port outside any lab, held by this test process."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.usefixtures("project")
def test_a_port_taken_outside_the_lab(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, taken_port: int
) -> None:
    monkeypatch.setattr(provision, "euid", lambda: 0)
    # gatewayuser's Redis (port_base + 0) moved onto the taken port.
    offset = taken_port - 21500
    path = inventory(tmp_path, f"galaxylab_port_offset: {offset}\n")
    line = one_line(*run(capsys, "up", "gatewayuser", "--inventory", str(path))[::2])
    assert line.startswith(f"galaxylab: port {taken_port} on localhost, which gatewayuser-redis needs, is taken by ")
    assert "outside the lab" in line
    assert "galaxylab_port_offset" in line


def test_json_mode_also_prints_the_error_as_json(capsys: pytest.CaptureFixture[str], project: Path) -> None:
    code, out, err = run(capsys, "status", "--json")
    one_line(code, err)
    assert '"error": "lab_not_up"' in out


def test_make_check_of_an_unknown_boundary_is_one_line(project: Path) -> None:
    venv = Path(sys.prefix)
    result = subprocess.run(
        ["make", "--no-print-directory", "check", "BOUNDARY=nosuch", f"VENV={venv}", "-o", str(venv / ".installed")],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert "*** unknown boundary nosuch (known: " in line
    assert {"authsessionuser", "gatewayauthsession", "gatewayuser"} <= set(line.rsplit("(known: ", 1)[1].split())


def test_a_failing_verb_exits_with_its_status(
    capsys: pytest.CaptureFixture[str], lab: Callable[[str], Manifest]
) -> None:
    """status of a boundary whose programs are not all running (the fake supervisorctl says FATAL): exit 1."""
    lab("gatewayuser")
    code, out, _ = run(capsys, "status", "gatewayuser", "--json")
    assert code == 1
    assert '"healthy": false' in out
