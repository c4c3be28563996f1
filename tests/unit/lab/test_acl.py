"""galaxylab.plan.acl: each boundary's Redis ACL as the planner renders it into redis.conf, and as
redis-server 7 enforces it (default user off, each service only its keys and commands)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from redis.backoff import NoBackoff
from redis.retry import Retry

from galaxylab import plan, secrets
from galaxylab.manifest import Manifest
from galaxylab.plan import acl, render
from tests.harness.manifest import under_ci
from tests.harness.waits import until
from tests.unit.common.ports import closed_port

REPO = Path(__file__).resolve().parents[3]
BOUNDARIES: list[dict[str, Any]] = yaml.safe_load((REPO / "playbooks/vars/boundaries.yml").read_text())[
    "galaxylab_boundaries"
]
SERVICES = ("gateway", "authsession", "user", "mail", "notification")
REDIS_SERVER = shutil.which("redis-server")
needs_redis = pytest.mark.skipif(
    REDIS_SERVER is None and not under_ci(), reason="needs redis-server (Debian package redis-server)"
)


def planned(root: Path, boundaries: list[dict[str, Any]]) -> dict[str, Any]:
    """The plan of ``boundaries`` on one host under ``root``, with secrets really generated there."""
    names = [b["name"] for b in boundaries]
    store = root / "controller-secrets"
    kids = secrets.ensure(store, names, [])["kids"]
    assert isinstance(kids, dict)
    hashes = {name: secrets.redis_password_hashes(store / name) for name in names}
    hosts = plan.parse_hosts({"localhost": {"address": "127.0.0.1", "root": str(root), "testinfra": "local://"}})
    return plan.build_plan(
        boundaries, plan.parse_placement("localhost", {}), hosts, kids=kids, redis_hashes=hashes, release="r"
    )


def conf_of(result: dict[str, Any], boundary: str) -> str:
    config = next(c for c in result["hosts"]["localhost"]["redis"] if c["boundary"] == boundary)
    return render.redis_conf(config)


def users_of(conf: str) -> dict[str, list[str]]:
    return {line.split()[1]: line.split()[2:] for line in conf.splitlines() if line.startswith("user ")}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return planned(tmp_path_factory.mktemp("lab"), BOUNDARIES)


@pytest.mark.parametrize("boundary", BOUNDARIES, ids=lambda b: b["name"])
def test_every_boundary_has_the_default_user_off_and_a_user_per_redis_service(
    lab: dict[str, Any], boundary: dict[str, Any]
) -> None:
    users = users_of(conf_of(lab, boundary["name"]))
    services = [c for c in boundary["components"] if c in SERVICES]
    assert list(users) == ["default", *services, "harness", "admin", "probe"]
    assert users["default"] == ["reset", "off", "~*", "&*", "+@all"]  # off: nobody logs in as it
    assert users["probe"] == ["reset", "on", "nopass", "+ping"]


@pytest.mark.parametrize("boundary", BOUNDARIES, ids=lambda b: b["name"])
def test_redis_conf_holds_password_digests_never_a_password(lab: dict[str, Any], boundary: dict[str, Any]) -> None:
    for user, rules in users_of(conf_of(lab, boundary["name"])).items():
        digests = [rule for rule in rules if rule.startswith("#")]
        assert len(digests) == (1 if user in plan.REDIS_USERS else 0), user
        assert not [rule for rule in rules if rule.startswith(">")], f"{user} has a clear-text password"


def test_the_digest_is_the_sha256_of_the_password_file(tmp_path: Path) -> None:
    result = planned(tmp_path, BOUNDARIES[:1])
    name = BOUNDARIES[0]["name"]
    users = users_of(conf_of(result, name))
    for user in ("gateway", "harness", "admin"):
        password = (tmp_path / "controller-secrets" / name / f"redis-{user}.password").read_text().strip()
        assert f"#{hashlib.sha256(password.encode()).hexdigest()}" in users[user]
        assert password not in conf_of(result, name)


def test_a_service_is_wired_to_its_own_user_and_password_file(lab: dict[str, Any]) -> None:
    programs = {p["name"]: p["env"] for p in lab["hosts"]["localhost"]["programs"]}
    env = programs["gatewayauthsession-gateway"]
    root = lab["hosts"]["localhost"]["root"]
    assert env["GALAXY_GATEWAY_REDIS_USERNAME"] == "gateway"
    assert env["GALAXY_GATEWAY_REDIS_PASSWORD_FILE"] == f"{root}/secrets/gatewayauthsession/redis-gateway.password"
    assert "@" not in env["GALAXY_GATEWAY_REDIS_URL"]
    assert "GALAXYLAB_STUB_REDIS_USERNAME" not in programs["gatewayauthsession-user-stub"]


def test_the_manifest_publishes_the_acl_and_password_files_not_passwords(lab: dict[str, Any]) -> None:
    manifest = Manifest.model_validate(lab["manifests"]["notificationgateway"])
    assert list(manifest.redis.users) == ["default", "notification", "gateway", "harness", "admin", "probe"]
    assert manifest.redis.users["gateway"] == (
        "on %R~authsession:session:* %R~gateway:push ~gateway:login-starts:* +ping +hget +xrange +xrevrange +xread"
        " +multi +exec +discard +evalsha +script|load +incr +pttl +pexpire"
    )
    assert sorted(manifest.secrets.redis_users) == ["admin", "gateway", "harness", "notification"]
    assert set(manifest.secrets.redis_users.values()) <= set(manifest.secrets.files)
    assert manifest.redis.probe.url == f"redis://probe@127.0.0.1:{manifest.redis.port}"


def test_a_boundary_without_password_digests_is_not_planned(tmp_path: Path) -> None:
    hosts = plan.parse_hosts({"localhost": {"address": "127.0.0.1", "root": str(tmp_path), "testinfra": "local://"}})
    with pytest.raises(plan.PlanError, match=r"gatewayuser: no Redis password for \['admin', 'gateway', 'harness'"):
        plan.build_plan(
            [b for b in BOUNDARIES if b["name"] == "gatewayuser"],
            plan.parse_placement("localhost", {}),
            hosts,
            kids={"gatewayuser": "k"},
            redis_hashes={"gatewayuser": {"user": "0" * 64}},
        )


@pytest.mark.parametrize(
    ("access", "message"),
    [
        ({"keys": {"x:*": "read"}, "commands": ["@all"]}, "are not key patterns, lowercase commands"),
        ({"keys": {"~x:*": "read"}, "commands": ["get"]}, "are not key patterns"),
        ({"keys": {}, "commands": ["get"]}, "keys"),
        ({"keys": {"x:*": "read"}, "commands": ["get"], "user": "nobody"}, "has no password file"),
    ],
)
def test_a_bad_acl_entry_in_the_catalog_is_refused(access: dict[str, Any], message: str) -> None:
    spec = plan.default_catalog().spec("user").model_dump()
    with pytest.raises(plan.CatalogError, match=message):
        plan.catalog.parse_catalog({"version": 1, "components": {"user": spec | {"redis": access}}})


def test_a_kind_using_redis_needs_a_redis_user_with_a_password_file() -> None:
    spec = plan.default_catalog().spec("user").model_dump() | {"port_offset": 74}
    with pytest.raises(plan.CatalogError, match="'audit' is no Redis user"):
        plan.catalog.parse_catalog({"version": 1, "components": {"audit": spec}})


# --- as redis-server enforces it ------------------------------------------------------------------

NO_RETRY = Retry(NoBackoff(), 0)  # a refused login is the answer, not a reason to try again
EVERYTHING = {"name": "everything", "redis": "ephemeral", "components": [*SERVICES, "smtp-sink"]}


class Server:
    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port

    def password(self, user: str) -> str:
        return (self.root / "controller-secrets" / "everything" / f"redis-{user}.password").read_text().strip()

    def client(self, user: str | None, password: str | None = None) -> redis.Redis:
        if user is not None and password is None:
            password = self.password(user)
        return redis.Redis(
            port=self.port, username=user, password=password, driver_info=None, decode_responses=True, retry=NO_RETRY
        )

    def dry_run(self, user: str, *command: str) -> str:
        with self.client("admin") as admin:
            return str(admin.execute_command("ACL", "DRYRUN", user, *command))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("acl")
    port = closed_port()
    result = planned(root, [EVERYTHING | {"port_base": port}])
    conf = root / "redis.conf"
    conf.write_text(conf_of(result, "everything"))
    (root / "etc" / "everything").mkdir(parents=True)
    process = subprocess.Popen([str(REDIS_SERVER), str(conf)], stdout=subprocess.DEVNULL)
    running = Server(root, port)
    try:
        until(lambda: _pings(running), within=5, what="redis-server with the lab's ACL ready")
        yield running
    finally:
        process.terminate()
        process.wait(timeout=5)


def _pings(server: Server) -> bool:
    try:
        with server.client("probe", "") as probe:
            return bool(probe.ping())
    except redis.ConnectionError:
        return False


@needs_redis
def test_without_a_login_nothing_runs(server: Server) -> None:
    with server.client(None) as anonymous, pytest.raises(redis.AuthenticationError, match=r"NOAUTH|authenticated"):
        anonymous.ping()


@needs_redis
def test_the_default_user_cannot_log_in(server: Server) -> None:
    with server.client("default", "anything") as default, pytest.raises(redis.AuthenticationError):
        default.ping()


@needs_redis
@pytest.mark.parametrize("user", SERVICES)
def test_a_service_logs_in_with_its_password_and_no_other(server: Server, user: str) -> None:
    with server.client(user) as client:
        assert client.ping()
    with server.client(user, server.password("harness")) as wrong, pytest.raises(redis.AuthenticationError):
        wrong.ping()


@needs_redis
@pytest.mark.parametrize("user", [*SERVICES, "harness"])
@pytest.mark.parametrize("command", [("flushall",), ("flushdb",), ("config", "set", "save", ""), ("shutdown",)])
def test_no_service_and_not_the_harness_may_wipe_or_reconfigure(server: Server, user: str, command: tuple[str]) -> None:
    assert server.dry_run(user, *command) != "OK"


@needs_redis
@pytest.mark.parametrize(
    ("user", "command"),
    [
        ("gateway", ("hget", "authsession:session:s_1", "user_id")),
        ("gateway", ("xread", "streams", "gateway:push", "0")),
        ("authsession", ("evalsha", "0" * 40, "2", "authsession:challenge:c", "notification:intents")),
        ("user", ("evalsha", "0" * 40, "2", "user:account:u_1", "notification:intents")),
        ("notification", ("xreadgroup", "group", "notification", "c", "streams", "notification:intents", ">")),
        ("notification", ("evalsha", "0" * 40, "2", "notification:intents", "gateway:push")),
        ("mail", ("xautoclaim", "mail:deliveries", "mail", "c", "1", "0")),
    ],
)
def test_a_service_may_do_what_its_code_does(server: Server, user: str, command: tuple[str, ...]) -> None:
    assert server.dry_run(user, *command) == "OK"


@needs_redis
@pytest.mark.parametrize(
    ("user", "command"),
    [
        ("gateway", ("hset", "authsession:session:s_1", "user_id", "u_2")),  # reads sessions, never writes
        ("gateway", ("hget", "user:account:u_1", "email")),
        ("gateway", ("xadd", "gateway:push", "*", "a", "b")),
        ("authsession", ("hgetall", "user:account:u_1")),
        ("user", ("hgetall", "authsession:session:s_1")),
        ("user", ("evalsha", "0" * 40, "1", "mail:queue")),
        ("mail", ("xadd", "notification:intents", "*", "a", "b")),
        ("notification", ("get", "user:email:ada@example.com")),
        ("notification", ("exists", "authsession:session:s_1")),
    ],
)
def test_a_service_is_refused_what_is_not_its_own(server: Server, user: str, command: tuple[str, ...]) -> None:
    assert server.dry_run(user, *command) != "OK"


@needs_redis
def test_a_key_outside_its_patterns_is_refused_to_the_service_itself(server: Server) -> None:
    with server.client("gateway") as gateway, pytest.raises(redis.exceptions.NoPermissionError, match="key"):
        gateway.hget("user:account:u_1", "email")


@needs_redis
def test_the_harness_reads_and_writes_any_key(server: Server) -> None:
    with server.client("harness") as harness:
        assert harness.xadd("notification:intents", {"a": "b"})
        assert harness.hset("authsession:session:s_1", "user_id", "u_1") == 1
        assert harness.keys("authsession:*") == ["authsession:session:s_1"]


@needs_redis
def test_the_probe_may_ping_and_nothing_else(server: Server) -> None:
    with server.client(acl.PROBE, "") as probe:
        assert probe.ping()
        with pytest.raises(redis.exceptions.NoPermissionError):
            probe.get("mail:queue")


@needs_redis
def test_a_durable_redis_replays_what_a_service_wrote_after_a_restart(tmp_path: Path) -> None:
    """Redis 7.0 replays the AOF's MULTI/EXEC blocks (a script's effects) as the default user and checks the
    ACL at EXEC: with a default user that may do nothing, acknowledged writes vanish on a restart."""
    port = closed_port()
    result = planned(tmp_path, [EVERYTHING | {"port_base": port, "redis": "durable"}])
    conf = tmp_path / "redis.conf"
    conf.write_text(conf_of(result, "everything"))
    (tmp_path / "data" / "everything").mkdir(parents=True)
    running = Server(tmp_path, port)

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen([str(REDIS_SERVER), str(conf)], stdout=subprocess.DEVNULL)
        until(lambda: _pings(running), within=5, what="durable redis-server ready")
        return process

    process = start()
    try:
        with running.client("user") as user:
            script = user.register_script(
                "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('XADD', KEYS[2], '*', 'a', 'b')"
            )
            entry = script(keys=["user:email:ada@example.com", "notification:intents"], args=["u_1"])
        process.terminate()
        process.wait(timeout=5)
        process = start()
        with running.client("harness") as harness:
            assert harness.get("user:email:ada@example.com") == "u_1"
            assert [e[0] for e in harness.xrange("notification:intents")] == [entry]
    finally:
        process.terminate()
        process.wait(timeout=5)
