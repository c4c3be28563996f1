"""galaxylab.plan: boundaries + placement + hosts -> what each host runs (by boundary) and manifests."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from galaxylab import plan
from galaxylab.manifest import Manifest

REPO = Path(__file__).resolve().parents[3]
BOUNDARIES: list[dict[str, Any]] = yaml.safe_load((REPO / "playbooks/vars/boundaries.yml").read_text())[
    "galaxylab_boundaries"
]
LOCAL = {"localhost": {"address": "127.0.0.1", "root": "/opt/galaxylab", "testinfra": "local://"}}
# What galaxylab.secrets.redis_password_hashes gives: a SHA-256 digest of every Redis user's password.
HASHES = {user: f"{index:064x}" for index, user in enumerate(plan.REDIS_USERS)}
TWO_HOSTS = {
    "alpha": {"address": "10.0.0.1", "root": "/srv/lab", "testinfra": "ssh://alpha"},
    "beta": {"address": "10.0.0.2", "root": "/opt/galaxylab", "testinfra": "ssh://beta"},
}


def build(
    boundaries: list[dict[str, Any]] | None = None,
    hosts: dict[str, dict[str, str]] | None = None,
    default_host: str = "localhost",
    overrides: dict[str, dict[str, str]] | None = None,
    tls: bool = False,
) -> dict[str, Any]:
    boundaries = BOUNDARIES if boundaries is None else boundaries
    return plan.build_plan(
        boundaries,
        plan.parse_placement(default_host, overrides),
        plan.parse_hosts(hosts or LOCAL),
        kids={b["name"]: f"kid-{b['name']}" for b in boundaries},
        redis_hashes={b["name"]: HASHES for b in boundaries},
        release="rel1",
        tls=tls,
    )


def programs(result: dict[str, Any], host: str = "localhost") -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in result["hosts"][host]["programs"]}


def test_the_lab_data_starts_with_the_four_login_boundaries() -> None:
    assert [b["name"] for b in BOUNDARIES][:4] == [
        "gatewayauthsession",
        "authsessionuser",
        "gatewayuser",
        "gatewayauthsessionuser",
    ]


@pytest.mark.parametrize("boundary", BOUNDARIES, ids=lambda b: b["name"])
def test_every_component_and_redis_is_a_program_named_boundary_component(boundary: dict[str, Any]) -> None:
    names = set(programs(build()))
    expected = {f"{boundary['name']}-{c}" for c in ["redis", *boundary["components"]]}
    assert expected <= names


@pytest.mark.parametrize(
    ("program", "variable"),
    [
        ("gatewayauthsession-mail-stub", "GALAXYLAB_STUB_OPERATOR_TOKEN_FILE"),
        ("gatewayauthsessionmail-mail", "GALAXY_MAIL_OPERATOR_TOKEN_FILE"),
    ],
)
def test_mail_and_its_stub_read_the_boundarys_operator_token(program: str, variable: str) -> None:
    """The double's operator surface takes the same credential as Mail Service's: the manifest's operator token."""
    result = build()
    boundary = program.rpartition("-mail")[0]

    assert programs(result)[program]["env"][variable] == result["manifests"][boundary]["secrets"]["operator_token"]


def test_ports_are_base_plus_the_conventions_offsets() -> None:
    env = programs(build())["gatewayauthsession-gateway"]["env"]
    assert env["GALAXY_GATEWAY_PORT"] == "21110"
    assert env["GALAXY_GATEWAY_ADMIN_PORT"] == "21111"
    assert env["GALAXY_GATEWAY_AUTHSESSION_URL"] == "http://127.0.0.1:21120"
    stub = programs(build())["gatewayauthsession-mail-stub"]["env"]
    assert (stub["GALAXYLAB_STUB_PORT"], stub["GALAXYLAB_STUB_ADMIN_PORT"]) == ("21170", "21171")


@pytest.mark.parametrize(
    ("program", "variable", "target"),
    [
        ("gatewayauthsession-authsession", "GALAXY_AUTHSESSION_USER_URL", "http://127.0.0.1:21160"),
        ("gatewayauthsession-gateway", "GALAXY_GATEWAY_USER_URL", "http://127.0.0.1:21160"),
        ("authsessionuser-authsession", "GALAXY_AUTHSESSION_USER_URL", "http://127.0.0.1:21230"),
        ("gatewayuser-gateway", "GALAXY_GATEWAY_USER_URL", "http://127.0.0.1:21530"),
        ("gatewayauthsessionuser-gateway", "GALAXY_GATEWAY_USER_URL", "http://127.0.0.1:21630"),
        ("gatewayauthsession-authsession", "GALAXY_AUTHSESSION_MAIL_URL", "http://127.0.0.1:21170"),
        ("gatewayauthsessionuser-authsession", "GALAXY_AUTHSESSION_MAIL_URL", "http://127.0.0.1:21670"),
    ],
)
def test_user_and_mail_urls_point_at_the_real_service_else_the_stub(program: str, variable: str, target: str) -> None:
    assert programs(build())[program]["env"][variable] == target


def test_authsession_without_mail_or_mail_stub_is_refused() -> None:
    boundary = {"name": "x", "port_base": 30000, "redis": "ephemeral", "components": ["authsession", "user-stub"]}
    with pytest.raises(plan.PlanError, match="needs mail or mail-stub"):
        build([boundary])


def test_gateway_without_authsession_gets_the_unused_authsession_port() -> None:
    env = programs(build())["gatewayuser-gateway"]["env"]
    assert env["GALAXY_GATEWAY_AUTHSESSION_URL"] == "http://127.0.0.1:21520"
    assert "gatewayuser-authsession" not in programs(build())


def test_secrets_are_only_file_paths_in_the_environment() -> None:
    for program in programs(build()).values():
        for key, value in program["env"].items():
            if key.endswith(("TOKEN", "KEY", "SECRET", "PASSWORD")):
                pytest.fail(f"{program['name']}: {key} holds a value, secrets must be *_FILE paths")
            if key.endswith("_FILE"):
                assert value.startswith("/opt/galaxylab/secrets/"), (program["name"], key)


def test_callers_send_their_own_token_file() -> None:
    env = programs(build())["gatewayauthsession-authsession"]["env"]
    assert env["GALAXY_AUTHSESSION_USER_TOKEN_FILE"].endswith("/gatewayauthsession/authsession.token")
    assert env["GALAXY_AUTHSESSION_SIGNING_KID"] == "kid-gatewayauthsession"
    gateway = programs(build())["gatewayauthsession-gateway"]["env"]
    assert gateway["GALAXY_GATEWAY_AUTHSESSION_TOKEN_FILE"].endswith("/gatewayauthsession/gateway.token")


def test_a_process_variable_reaches_the_program_unprefixed_and_stays_out_of_the_manifest() -> None:
    result = build()
    assert programs(result)["gatewayuser-gateway"]["env"]["MALLOC_ARENA_MAX"] == "2"
    manifest = Manifest.model_validate(result["manifests"]["gatewayuser"])
    assert "MALLOC_ARENA_MAX" not in manifest.component("gateway").settings
    assert "MALLOC_ARENA_MAX" not in programs(result)["gatewayuser-user"]["env"]


def test_programs_run_from_the_current_release_and_carry_its_id() -> None:
    program = programs(build())["authsessionuser-user"]
    assert shlex.split(program["command"]) == ["/opt/galaxylab/current/venv/bin/galaxy-user"]
    assert program["env"]["GALAXYLAB_RELEASE"] == "rel1"
    assert program["log"] == "/opt/galaxylab/log/authsessionuser/user.log"


def test_redis_is_ephemeral_or_durable_as_the_data_says() -> None:
    boundaries = [dict(BOUNDARIES[0], redis="durable")]
    redis = build(boundaries)["hosts"]["localhost"]["redis"][0]
    assert redis["mode"] == "durable"
    assert redis["dir"] == "/opt/galaxylab/data/gatewayauthsession"
    assert {"path": redis["dir"], "mode": "0700", "owner": "galaxylab", "group": "galaxylab"} in build(boundaries)[
        "hosts"
    ]["localhost"]["directories"]


def test_redis_keeps_protected_mode_on_loopback_only() -> None:
    local = build([BOUNDARIES[0]])["hosts"]["localhost"]["redis"][0]
    spread = build([BOUNDARIES[0]], hosts=TWO_HOSTS, default_host="alpha")["hosts"]["alpha"]["redis"][0]
    assert (local["bind"], local["protected_mode"]) == ("127.0.0.1", "yes")
    # Services on the other hosts connect to the host's own address, which protected mode refuses.
    assert (spread["bind"], spread["protected_mode"]) == ("10.0.0.1", "no")


def test_manifest_has_the_documented_shape() -> None:
    manifest = build()["manifests"]["gatewayauthsession"]
    assert manifest["boundary"] == "gatewayauthsession"
    assert (
        manifest["redis"] | {"url": "redis://127.0.0.1:21100/0", "mode": "ephemeral", "host": "localhost"}
        == (manifest["redis"])
    )
    assert manifest["redis"]["program"] == "gatewayauthsession-redis"
    gateway = manifest["components"]["gateway"]
    assert gateway["endpoint"] == "127.0.0.1:21110"
    assert gateway["admin_url"] == "http://127.0.0.1:21111"
    assert gateway["url"] is None
    assert gateway["probe"] == {"kind": "http", "url": "http://127.0.0.1:21111/healthz", "ca": None}
    assert gateway["ports"] == [21110, 21111]
    assert manifest["components"]["authsession"]["url"] == "http://127.0.0.1:21120"
    assert manifest["hosts"]["localhost"] == manifest["hosts"]["localhost"] | {
        "testinfra": "local://",
        "supervisorctl": "/opt/galaxylab/current/venv/bin/supervisorctl -c /opt/galaxylab/supervisor/supervisord.conf",
    }
    secrets = manifest["secrets"]
    assert secrets["dir"] == "/opt/galaxylab/secrets/gatewayauthsession"
    assert secrets["signing_kid"] == "kid-gatewayauthsession"
    assert secrets["service_tokens"].endswith("/service-tokens.json")
    json.dumps(manifest)  # plain JSON, nothing Ansible-specific
    Manifest.model_validate(manifest)  # the one model every reader validates against


def test_manifest_settings_show_the_effective_values_without_prefix() -> None:
    settings = build()["manifests"]["authsessionuser"]["components"]["authsession"]["settings"]
    assert settings["CHALLENGE_MAX_ATTEMPTS"] == "5"
    assert settings["USER_URL"] == "http://127.0.0.1:21230"
    assert not any(key.startswith("GALAXY") for key in settings)


def test_boundary_settings_override_the_lab_values() -> None:
    boundary = dict(BOUNDARIES[0], settings={"authsession": {"CHALLENGE_TTL_SECONDS": 2}})
    assert plan.default_catalog().spec("authsession").settings["CHALLENGE_TTL_SECONDS"] == "600"
    env = programs(build([boundary]))["gatewayauthsession-authsession"]["env"]
    assert env["GALAXY_AUTHSESSION_CHALLENGE_TTL_SECONDS"] == "2"


def test_placement_spreads_a_boundary_over_hosts_with_their_own_addresses_and_roots() -> None:
    result = build(
        [BOUNDARIES[0]],
        hosts=TWO_HOSTS,
        default_host="alpha",
        overrides={"gatewayauthsession": {"authsession": "beta", "redis": "beta"}},
    )
    alpha, beta = programs(result, "alpha"), programs(result, "beta")
    assert set(alpha) == {"gatewayauthsession-gateway", "gatewayauthsession-user-stub", "gatewayauthsession-mail-stub"}
    assert set(beta) == {"gatewayauthsession-authsession", "gatewayauthsession-redis"}
    gateway = alpha["gatewayauthsession-gateway"]["env"]
    assert gateway["GALAXY_GATEWAY_AUTHSESSION_URL"] == "http://10.0.0.2:21120"
    assert gateway["GALAXY_GATEWAY_REDIS_URL"] == "redis://10.0.0.2:21100/0"
    assert gateway["GALAXY_GATEWAY_TOKEN_KEYS_FILE"].startswith("/srv/lab/secrets/")
    assert beta["gatewayauthsession-authsession"]["env"]["GALAXY_AUTHSESSION_USER_URL"] == "http://10.0.0.1:21160"
    assert result["hosts"]["alpha"]["secret_boundaries"] == ["gatewayauthsession"]
    assert result["hosts"]["beta"]["secret_boundaries"] == ["gatewayauthsession"]
    manifest = result["manifests"]["gatewayauthsession"]
    assert set(manifest["hosts"]) == {"alpha", "beta"}
    assert manifest["redis"]["url"] == "redis://10.0.0.2:21100/0"
    # Each host gets its own group of the boundary (its programs only); Redis only where it runs.
    assert [g["conf"] for g in result["hosts"]["alpha"]["groups"]] == [
        "/srv/lab/supervisor/conf.d/gatewayauthsession.conf"
    ]
    assert [g["boundary"] for g in result["hosts"]["beta"]["groups"]] == ["gatewayauthsession"]
    assert (result["hosts"]["alpha"]["redis"], len(result["hosts"]["beta"]["redis"])) == ([], 1)


def test_ready_checks_cover_every_component_of_the_host() -> None:
    checks = {c["name"]: c["url"] for c in build()["hosts"]["localhost"]["ready_checks"]}
    assert checks["gatewayuser-redis"] == "redis://probe@127.0.0.1:21500"
    assert checks["gatewayuser-gateway"] == "http://127.0.0.1:21511/healthz"
    assert len(checks) == sum(1 + len(b["components"]) for b in BOUNDARIES)


def test_boundary_hosts_names_who_needs_what() -> None:
    mapping = plan.boundary_hosts(
        BOUNDARIES, plan.parse_placement("alpha", {"gatewayuser": {"default": "beta"}}), plan.parse_hosts(TWO_HOSTS)
    )
    names = [b["name"] for b in BOUNDARIES]
    assert mapping == {"alpha": [n for n in names if n != "gatewayuser"], "beta": ["gatewayuser"]}


def test_an_absent_boundary_becomes_paths_to_remove_and_no_programs() -> None:
    boundaries = [BOUNDARIES[0], dict(BOUNDARIES[1], state="absent")]
    result = build(boundaries)
    local = result["hosts"]["localhost"]
    # The program file first (supervisorctl update then removes the group), then everything it left.
    assert local["remove"] == [
        "/opt/galaxylab/supervisor/conf.d/authsessionuser.conf",
        *(f"/opt/galaxylab/{sub}/authsessionuser" for sub in ("etc", "data", "log", "secrets")),
    ]
    assert [g["boundary"] for g in local["groups"]] == ["gatewayauthsession"]
    assert [r["boundary"] for r in local["redis"]] == ["gatewayauthsession"]
    assert result["absent_manifests"] == ["authsessionuser"]
    assert not any(p.startswith("authsessionuser-") for p in programs(result))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"port_base": 21150}, "port ranges overlap"),
        ({"components": ["gateway", "smtp"]}, "unknown component 'smtp'"),
        ({"redis": "persistent"}, "redis must be one of"),
        ({"name": "Gateway-User"}, "must be lowercase"),
        ({"port_base": "21100"}, "port_base"),
        ({"settings": {"mail": {"X": "1"}}}, "not in its components"),
        ({"settings": {"gateway": {"user_url": "x"}}}, "UPPER_CASE"),
        ({"state": "gone"}, "state must be one of"),
    ],
)
def test_bad_boundary_data_is_refused_with_a_clear_message(change: dict[str, Any], message: str) -> None:
    other = {**BOUNDARIES[2], "name": "other", "port_base": 25000, **change}
    boundaries = [BOUNDARIES[0], other]
    with pytest.raises(plan.PlanError, match=message):
        build(boundaries)


def test_duplicate_boundary_names_are_refused() -> None:
    with pytest.raises(plan.PlanError, match="duplicate boundary name"):
        build([BOUNDARIES[0], dict(BOUNDARIES[0], port_base=30000)])


def test_placement_on_an_unknown_host_is_refused() -> None:
    with pytest.raises(plan.PlanError, match="placed on 'gamma'"):
        build([BOUNDARIES[0]], overrides={"gatewayauthsession": {"gateway": "gamma"}})


def directories(result: dict[str, Any], host: str = "localhost") -> dict[str, tuple[str, str, str, bool]]:
    """``{path relative to the root: (owner, group, mode, recurse)}`` of a host's planned directories."""
    root = result["hosts"][host]["root"]
    return {
        d["path"].removeprefix(root).lstrip("/"): (d["owner"], d["group"], d["mode"], d.get("recurse", False))
        for d in result["hosts"][host]["directories"]
    }


def test_the_lab_user_owns_only_what_its_programs_write() -> None:
    """Runtime files, logs, Redis data and secrets are the lab user's (all the way down); the root, releases,
    supervisord's and Redis's configs are root's, readable by the lab group, never writable by the lab user."""
    dirs = directories(build([dict(BOUNDARIES[0], redis="durable")]))
    lab, admin = ("galaxylab", "galaxylab"), ("root", "galaxylab")
    assert dirs == {
        "": ("root", "root", "0755", False),
        "releases": (*admin, "0750", False),
        "layers": (*admin, "0750", False),
        "supervisor": (*admin, "0750", False),
        "supervisor/conf.d": (*admin, "0750", False),
        "etc": (*admin, "0750", False),
        "etc/gatewayauthsession": (*admin, "0750", False),
        "run": (*lab, "0750", True),
        "log": (*lab, "0750", True),
        "log/gatewayauthsession": (*lab, "0750", False),
        "data": (*lab, "0750", True),
        "data/gatewayauthsession": (*lab, "0700", False),
        "secrets": (*lab, "0700", True),
    }


def test_supervisord_programs_and_manifest_name_the_inventorys_lab_user() -> None:
    hosts = {"localhost": {**LOCAL["localhost"], "owner": "labops", "group": "labgrp"}}
    result = build([BOUNDARIES[0]], hosts=hosts)
    part = result["hosts"]["localhost"]
    assert (part["supervisor"]["user"], part["supervisor"]["group"]) == ("labops", "labgrp")
    assert {program["user"] for program in part["programs"]} == {"labops"}
    host = result["manifests"]["gatewayauthsession"]["hosts"]["localhost"]
    assert (host["owner"], host["group"]) == ("labops", "labgrp")
    assert host["writable"] == [f"/opt/galaxylab/{sub}" for sub in ("run", "log", "data", "secrets")]
    assert directories(result)["log"][:2] == ("labops", "labgrp")


@pytest.mark.parametrize(("owner", "group"), [("root", "galaxylab"), ("galaxylab", "root"), ("0", "galaxylab")])
def test_root_as_the_lab_user_is_refused(owner: str, group: str) -> None:
    with pytest.raises(plan.PlanError, match="must not be root"):
        plan.parse_hosts({"h": {**LOCAL["localhost"], "owner": owner, "group": group}})


def test_a_host_without_address_is_refused() -> None:
    with pytest.raises(plan.PlanError, match="missing address"):
        plan.parse_hosts({"h": {"root": "/opt/galaxylab", "testinfra": "local://"}})


def test_an_inventory_selects_boundaries_and_moves_their_ports() -> None:
    selected = plan.select_boundaries(BOUNDARIES, ["gatewayuser", "gatewayauthsessionuser"], 1000)
    moved = [(b["name"], b["port_base"]) for b in selected]
    assert moved == [("gatewayuser", 22500), ("gatewayauthsessionuser", 22600)]
    assert BOUNDARIES[2]["port_base"] == 21500, "the data itself is left alone"
    ports = build(selected)["manifests"]["gatewayuser"]["components"]["gateway"]
    assert (ports["port"], ports["admin_url"]) == (22510, "http://127.0.0.1:22511")


def test_no_selection_is_every_boundary_unchanged() -> None:
    assert plan.select_boundaries(BOUNDARIES) == BOUNDARIES
    assert plan.select_boundaries(BOUNDARIES, [], 0) == BOUNDARIES


def test_selecting_an_unknown_boundary_is_refused() -> None:
    with pytest.raises(plan.PlanError, match="unknown boundaries gatewaymail selected"):
        plan.select_boundaries(BOUNDARIES, ["gatewaymail"])


def test_a_port_offset_must_be_an_integer() -> None:
    with pytest.raises(plan.PlanError, match="port offset"):
        plan.select_boundaries(BOUNDARIES, [], "1000")  # type: ignore[arg-type]


def test_a_boundary_without_kid_is_refused() -> None:
    with pytest.raises(plan.PlanError, match="no signing kid"):
        plan.build_plan(BOUNDARIES, plan.parse_placement("localhost", {}), plan.parse_hosts(LOCAL), kids={})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"A": "plain"}, 'A="plain"'),
        ({"A": "50%", "B": 'say "hi"'}, 'A="50%%",B="say \\"hi\\""'),
        ({}, ""),
    ],
)
def test_supervisor_environment_quotes_and_escapes(env: dict[str, str], expected: str) -> None:
    assert plan.supervisor_environment(env) == expected


def test_selecting_one_boundary_by_a_plain_string_is_not_a_list_of_letters() -> None:
    assert [b["name"] for b in plan.select_boundaries(BOUNDARIES, "gatewayuser")] == ["gatewayuser"]
    assert [b["name"] for b in plan.select_boundaries(BOUNDARIES, "gatewayuser,authsessionuser")] == [
        "authsessionuser",
        "gatewayuser",
    ]
    with pytest.raises(plan.PlanError, match="unknown boundaries nosuch selected"):
        plan.select_boundaries(BOUNDARIES, "nosuch")


# --- a new kind of component is one catalog entry -------------------------------------------------

AUDIT = plan.ComponentSpec(
    program="galaxy-audit",
    env_prefix="GALAXY_AUDIT_",
    port_offset=90 - 16,
    protocol="http",
    tier="service",
    # A new kind's Redis user needs a password file: it borrows one here (a real kind adds it to REDIS_USERS).
    redis=plan.RedisAccess(user="notification", keys={"audit:*": "read-write"}, commands=("ping", "xadd")),
    secrets={"SERVICE_TOKENS_FILE": "service-tokens.json", "USER_TOKEN_FILE": "lab.token"},
    links={"USER_URL": plan.Link(to=("user", "user-stub")), "SMTP": plan.Link(to=("smtp-sink",), form="endpoint")},
    settings={"RETENTION_DAYS": "7"},
)


def test_a_made_up_kind_registered_only_in_the_catalog_is_planned_wired_probed_and_in_the_manifest() -> None:
    catalog = plan.default_catalog().with_components({"audit": AUDIT})
    boundary = {
        "name": "auditlab",
        "port_base": 23000,
        "redis": "durable",
        "components": ["audit", "user-stub", "smtp-sink"],
        "settings": {"audit": {"RETENTION_DAYS": "1"}},
    }
    result = plan.build_plan(
        [boundary],
        plan.parse_placement("localhost", {}),
        plan.parse_hosts(LOCAL),
        kids={"auditlab": "k"},
        redis_hashes={"auditlab": HASHES},
        release="rel1",
        catalog=catalog,
    )
    env = programs(result)["auditlab-audit"]["env"]
    assert env == env | {
        "GALAXY_AUDIT_PORT": "23074",
        "GALAXY_AUDIT_ADMIN_PORT": "23075",
        "GALAXY_AUDIT_REDIS_URL": "redis://127.0.0.1:23000/0",
        "GALAXY_AUDIT_USER_URL": "http://127.0.0.1:23060",
        "GALAXY_AUDIT_SMTP": "127.0.0.1:23080",
        "GALAXY_AUDIT_SERVICE_TOKENS_FILE": "/opt/galaxylab/secrets/auditlab/service-tokens.json",
        "GALAXY_AUDIT_RETENTION_DAYS": "1",
    }
    assert programs(result)["auditlab-audit"]["command"] == "/opt/galaxylab/current/venv/bin/galaxy-audit"
    checks = {c["name"]: c["url"] for c in result["hosts"]["localhost"]["ready_checks"]}
    assert checks["auditlab-audit"] == "http://127.0.0.1:23075/healthz"
    assert checks["auditlab-smtp-sink"] == "smtp://127.0.0.1:23080"
    manifest = Manifest.model_validate(result["manifests"]["auditlab"])
    audit = manifest.component("audit")
    assert (audit.url, audit.admin_port, audit.probe.kind) == ("http://127.0.0.1:23074", 23075, "http")
    assert audit.settings["USER_URL"] == "http://127.0.0.1:23060"
    sink = manifest.component("smtp-sink")
    assert (sink.endpoint, sink.url, sink.probe.url) == ("127.0.0.1:23080", None, "smtp://127.0.0.1:23080")
    assert sink.settings["API_PORT"] == "23081"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"port_offset": 60}, "port offset 60 is also user-stub's"),
        ({"links": {"X_URL": plan.Link(to=("nosuch",))}}, "links to unknown kinds"),
        ({"secrets": {"KEY_FILE": "nosuch.pem"}}, "unknown secret files"),
        ({"settings": {"lower": "x"}}, "UPPER_CASE"),
        ({"process_environment": {"GALAXY_AUDIT_PORT": "1"}}, "process_environment"),
        ({"process_environment": {"lower": "1"}}, "process_environment"),
    ],
)
def test_a_bad_catalog_entry_is_refused_with_a_clear_message(change: dict[str, Any], message: str) -> None:
    with pytest.raises(plan.CatalogError, match=message):
        plan.default_catalog().with_components({"audit": AUDIT.model_copy(update=change)})


def test_a_link_nobody_satisfies_is_refused_naming_the_setting() -> None:
    catalog = plan.default_catalog().with_components({"audit": AUDIT})
    boundary = {"name": "auditlab", "port_base": 23000, "redis": "ephemeral", "components": ["audit"]}
    with pytest.raises(plan.PlanError, match="audit needs user or user-stub in its components \\(for USER_URL\\)"):
        plan.build_plan(
            [boundary],
            plan.parse_placement("localhost", {}),
            plan.parse_hosts(LOCAL),
            kids={"auditlab": "k"},
            redis_hashes={"auditlab": HASHES},
            catalog=catalog,
        )


# --- TLS (galaxylab_tls) ----------------------------------------------------------------------------------

GAU = next(b for b in BOUNDARIES if b["name"] == "gatewayauthsessionuser")
SPREAD = {"gatewayauthsessionuser": {"default": "alpha", "redis": "beta", "authsession": "beta"}}


def spread_tls() -> dict[str, Any]:
    return build([GAU], hosts=TWO_HOSTS, default_host="alpha", overrides=SPREAD, tls=True)


def test_without_tls_nothing_speaks_or_names_tls() -> None:
    result = build([GAU], hosts=TWO_HOSTS, default_host="alpha", overrides=SPREAD)
    manifest = result["manifests"]["gatewayauthsessionuser"]
    assert manifest["redis"]["url"].startswith("redis://")
    assert not manifest["redis"]["tls"]
    assert not any(c["tls"] for c in manifest["components"].values())
    assert manifest["secrets"]["tls_ca"] is None
    envs = [p["env"] for host in result["hosts"].values() for p in host["programs"]]
    assert not [key for env in envs for key in env if "_TLS_" in key]
    assert "tls-port" not in json.dumps(result["hosts"]["beta"]["redis"])


def test_with_tls_every_link_is_https_or_rediss_and_every_client_gets_the_labs_ca() -> None:
    result = spread_tls()
    gateway = programs(result, "alpha")["gatewayauthsessionuser-gateway"]["env"]
    authsession = programs(result, "beta")["gatewayauthsessionuser-authsession"]["env"]
    assert gateway["GALAXY_GATEWAY_AUTHSESSION_URL"] == "https://10.0.0.2:21620"
    assert gateway["GALAXY_GATEWAY_USER_URL"] == "https://10.0.0.1:21630"
    assert authsession["GALAXY_AUTHSESSION_MAIL_URL"] == "https://10.0.0.1:21670"
    assert (
        gateway["GALAXY_GATEWAY_REDIS_URL"]
        == authsession["GALAXY_AUTHSESSION_REDIS_URL"]
        == "rediss://10.0.0.2:21600/0"
    )
    assert gateway["GALAXY_GATEWAY_TLS_CA_FILE"] == "/srv/lab/secrets/gatewayauthsessionuser/tls-ca.pem"
    assert authsession["GALAXY_AUTHSESSION_TLS_CA_FILE"] == "/opt/galaxylab/secrets/gatewayauthsessionuser/tls-ca.pem"


@pytest.mark.parametrize("component", GAU["components"])
def test_with_tls_every_main_port_serves_its_hosts_certificate(component: str) -> None:
    result = spread_tls()
    host = "beta" if component == "authsession" else "alpha"
    spec = plan.default_catalog().spec(component)
    env = programs(result, host)[f"gatewayauthsessionuser-{component}"]["env"]
    secrets = f"{TWO_HOSTS[host]['root']}/secrets/gatewayauthsessionuser"
    assert env[f"{spec.env_prefix}TLS_CERT_FILE"] == f"{secrets}/tls-cert.pem"
    assert env[f"{spec.env_prefix}TLS_KEY_FILE"] == f"{secrets}/tls-key.pem"
    entry = result["manifests"]["gatewayauthsessionuser"]["components"][component]
    assert entry["tls"] is True
    if entry["url"] is not None:
        assert entry["url"].startswith("https://")
    assert entry["admin_url"].startswith("http://")  # readiness and metrics only: stays plain


def test_with_tls_redis_listens_with_tls_only_and_its_probe_verifies_the_labs_ca() -> None:
    result = spread_tls()
    (config,) = result["hosts"]["beta"]["redis"]
    secrets = "/opt/galaxylab/secrets/gatewayauthsessionuser"
    assert config["tls"] == {
        "cert": f"{secrets}/tls-cert.pem",
        "key": f"{secrets}/tls-key.pem",
        "ca": f"{secrets}/tls-ca.pem",
    }
    checks = {c["name"]: c for c in result["hosts"]["beta"]["ready_checks"]}
    assert checks["gatewayauthsessionuser-redis"] == {
        "name": "gatewayauthsessionuser-redis",
        "url": "rediss://probe@10.0.0.2:21600",
        "ca": f"{secrets}/tls-ca.pem",
    }
    manifest = result["manifests"]["gatewayauthsessionuser"]
    assert (manifest["redis"]["url"], manifest["redis"]["tls"]) == ("rediss://10.0.0.2:21600/0", True)


def test_with_tls_the_manifest_names_the_ca_and_counts_the_hosts_key_as_a_secret() -> None:
    secrets = spread_tls()["manifests"]["gatewayauthsessionuser"]["secrets"]
    assert secrets["tls_ca"] == f"{secrets['dir']}/tls-ca.pem"
    assert f"{secrets['dir']}/tls-key.pem" in secrets["files"]
    assert f"{secrets['dir']}/tls-cert.pem" not in secrets["files"]  # public


def test_with_tls_a_host_running_only_redis_gets_the_boundarys_secrets_for_its_certificate() -> None:
    only_redis = {"gatewayauthsessionuser": {"default": "alpha", "redis": "beta"}}
    plain = build([GAU], hosts=TWO_HOSTS, default_host="alpha", overrides=only_redis)
    tls = build([GAU], hosts=TWO_HOSTS, default_host="alpha", overrides=only_redis, tls=True)
    assert plain["hosts"]["beta"]["secret_boundaries"] == []
    assert tls["hosts"]["beta"]["secret_boundaries"] == ["gatewayauthsessionuser"]


def sink_boundary() -> dict[str, Any]:
    return next(b for b in BOUNDARIES if "smtp-sink" in b["components"] and "mail" in b["components"])


def test_with_tls_the_smtp_sink_serves_smtps_and_https_and_mail_verifies_it_with_the_labs_ca() -> None:
    boundary = sink_boundary()
    result = build([boundary], tls=True)
    name = boundary["name"]
    sink = result["manifests"][name]["components"]["smtp-sink"]
    secrets = f"/opt/galaxylab/secrets/{name}"
    assert sink["tls"] is True
    assert sink["admin_url"] == f"https://127.0.0.1:{sink['admin_port']}"  # the API: lab token, the mail
    assert sink["probe"] == {"kind": "smtp", "url": f"smtps://{sink['endpoint']}", "ca": f"{secrets}/tls-ca.pem"}
    env = programs(result)[f"{name}-smtp-sink"]["env"]
    assert env["GALAXYLAB_SINK_TLS_CERT_FILE"] == f"{secrets}/tls-cert.pem"
    assert env["GALAXYLAB_SINK_TLS_KEY_FILE"] == f"{secrets}/tls-key.pem"
    assert env["GALAXYLAB_SINK_TLS_CA_FILE"] == f"{secrets}/tls-ca.pem"  # /healthz reads the banner over TLS
    mail = programs(result)[f"{name}-mail"]["env"]
    assert (mail["GALAXY_MAIL_SMTP_PORT"], mail["GALAXY_MAIL_SMTP_TLS"]) == (str(sink["port"]), "true")
    assert mail["GALAXY_MAIL_TLS_CA_FILE"] == f"{secrets}/tls-ca.pem"
    checks = {c["name"]: c for c in result["hosts"]["localhost"]["ready_checks"]}
    assert checks[f"{name}-smtp-sink"]["url"] == f"smtps://{sink['endpoint']}"


def test_without_tls_the_smtp_sink_and_mails_client_are_plain() -> None:
    boundary = sink_boundary()
    result = build([boundary])
    sink = result["manifests"][boundary["name"]]["components"]["smtp-sink"]
    assert (sink["tls"], sink["probe"]["url"]) == (False, f"smtp://{sink['endpoint']}")
    assert sink["admin_url"].startswith("http://")
    assert programs(result)[f"{boundary['name']}-mail"]["env"]["GALAXY_MAIL_SMTP_TLS"] == "false"
