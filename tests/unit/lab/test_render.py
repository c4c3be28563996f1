"""galaxylab.plan.render: a host's files rendered on the controller (supervisord, program groups, Redis)."""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import Any

import yaml

from galaxylab import plan
from galaxylab.plan import render

REPO = Path(__file__).resolve().parents[3]
BOUNDARIES: list[dict[str, Any]] = yaml.safe_load((REPO / "playbooks/vars/boundaries.yml").read_text())[
    "galaxylab_boundaries"
]
LOCAL = {"localhost": {"address": "127.0.0.1", "root": "/opt/galaxylab", "testinfra": "local://"}}
# What galaxylab.secrets.redis_password_hashes gives: a SHA-256 digest of every Redis user's password.
HASHES = {user: f"{index:064x}" for index, user in enumerate(plan.REDIS_USERS)}


def host_plan(boundaries: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    boundaries = BOUNDARIES if boundaries is None else boundaries
    result = plan.build_plan(
        boundaries,
        plan.parse_placement("localhost", {}),
        plan.parse_hosts(LOCAL),
        kids={b["name"]: f"kid-{b['name']}" for b in boundaries},
        redis_hashes={b["name"]: HASHES for b in boundaries},
        release="rel1",
    )
    part: dict[str, Any] = result["hosts"]["localhost"]
    return part


def parsed(content: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(inline_comment_prefixes=None, comment_prefixes=(";", "#"))
    parser.read_string(content)
    return parser


def test_one_program_file_per_boundary_with_its_group_and_every_program() -> None:
    part = host_plan()
    files = render.program_files(part["groups"], "root", "galaxylab", render.ProgramPolicy(), header="Managed")
    assert [f["path"] for f in files] == [f"/opt/galaxylab/supervisor/conf.d/{b['name']}.conf" for b in BOUNDARIES]
    assert {(f["mode"], f["owner"], f["group"]) for f in files} == {("0640", "root", "galaxylab")}
    conf = parsed(files[2]["content"])  # gatewayuser
    assert conf.get("group:gatewayuser", "programs") == "gatewayuser-redis,gatewayuser-gateway,gatewayuser-user"
    assert conf.get("program:gatewayuser-user", "command") == "/opt/galaxylab/current/venv/bin/galaxy-user"
    assert 'GALAXYLAB_RELEASE="rel1"' in conf.get("program:gatewayuser-user", "environment")
    assert conf.get("program:gatewayuser-redis", "priority") == "100"
    assert files[2]["content"].startswith("; Managed\n")


def test_a_changed_redis_conf_changes_only_its_redis_program() -> None:
    part = host_plan()
    before = render.redis_files(part["redis"], "root", "root")
    after = render.redis_files(part["redis"], "root", "root", {"maxmemory": "64mb"})
    assert before[0]["sha1"] != after[0]["sha1"]
    env = render.restart_environment(after[:1])
    assert env == {"gatewayauthsession-redis": {"GALAXYLAB_CONFIG_SHA1": after[0]["sha1"]}}
    policy = render.ProgramPolicy()
    old = render.program_files(part["groups"], "root", "root", policy, render.restart_environment(before[:1]))
    new = render.program_files(part["groups"], "root", "root", policy, env)
    assert [o["content"] == n["content"] for o, n in zip(old, new, strict=True)] == [False] + [True] * (len(old) - 1)
    redis = parsed(new[0]["content"]).get("program:gatewayauthsession-redis", "environment")
    assert redis == f'GALAXYLAB_CONFIG_SHA1="{after[0]["sha1"]}"'


def test_redis_is_ephemeral_or_durable() -> None:
    ephemeral, durable = host_plan([BOUNDARIES[0], dict(BOUNDARIES[1], redis="durable")])["redis"]
    assert "appendonly no\n" in render.redis_conf(ephemeral)
    text = render.redis_conf(durable)
    assert "appendonly yes\nappendfsync always\n" in text
    assert "dir /opt/galaxylab/data/authsessionuser\n" in text
    assert "port 21200\n" in text
    assert "bind 127.0.0.1\n" in text


def test_supervisord_conf_names_its_release_and_includes_the_program_files() -> None:
    supervisor = host_plan()["supervisor"]
    text = render.supervisord_conf(supervisor, "/opt/galaxylab", "rel1")
    conf = parsed(text)
    assert conf.get("include", "files") == "/opt/galaxylab/supervisor/conf.d/*.conf"
    assert conf.get("unix_http_server", "file") == "/opt/galaxylab/run/supervisor.sock"
    assert "; Runs from release rel1, as galaxylab.\n" in text
    assert text != render.supervisord_conf(supervisor, "/opt/galaxylab", "rel2")


def test_supervisord_and_every_program_run_as_the_lab_user_never_root() -> None:
    """Started by root, supervisord drops to the lab user before anything else; each program says so again
    (supervisord refuses to start a program as another user than its own)."""
    part = host_plan()
    supervisord = parsed(render.supervisord_conf(part["supervisor"], "/opt/galaxylab", "rel1"))
    assert supervisord.get("supervisord", "user") == "galaxylab"
    assert supervisord.get("unix_http_server", "chown") == "galaxylab:galaxylab"
    assert supervisord.get("unix_http_server", "chmod") == "0700"
    users = {
        conf.get(section, "user")
        for file in render.program_files(part["groups"], "root", "galaxylab", render.ProgramPolicy())
        for conf in [parsed(file["content"])]
        for section in conf.sections()
        if section.startswith("program:")
    }
    assert users == {"galaxylab"}


def test_the_program_file_does_not_depend_on_the_order_settings_were_given_in() -> None:
    group = host_plan()["groups"][4]  # notificationgateway: two settings overrides
    program = next(p for p in group["programs"] if p["env"])
    reordered = {**group, "programs": [{**program, "env": dict(reversed(program["env"].items()))}]}
    plain = {**group, "programs": [program]}
    policy = render.ProgramPolicy()
    assert render.program_conf(reordered, policy) == render.program_conf(plain, policy)


def test_with_tls_redis_listens_on_its_tls_port_only_with_the_hosts_certificate() -> None:
    config = {
        "boundary": "b",
        "mode": "ephemeral",
        "program": "b-redis",
        "bind": "10.0.0.1",
        "port": 21100,
        "dir": "/x",
        "tls": {"cert": "/s/tls-cert.pem", "key": "/s/tls-key.pem", "ca": "/s/tls-ca.pem"},
    }
    lines = render.redis_conf(config).splitlines()
    assert {"port 0", "tls-port 21100", "tls-auth-clients no"} <= set(lines)
    assert {"tls-cert-file /s/tls-cert.pem", "tls-key-file /s/tls-key.pem", "tls-ca-cert-file /s/tls-ca.pem"} <= set(
        lines
    )
    assert "port 21100" not in lines
    assert "port 21100" in render.redis_conf(config | {"tls": None}).splitlines()
