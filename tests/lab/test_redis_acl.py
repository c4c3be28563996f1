"""Each boundary's Redis lets nobody in without a login, and each service only as far as its ACL user goes.

The users and their rules are the manifest's (``redis.users``, contracts/redis/keys.md "Who may touch
what"); passwords come from the files the manifest and each program's settings name. Destructive
commands are never run for real: ``ACL DRYRUN`` (as the boundary's ``admin``) says whether a user could.
The refusals provoked for real come from connections named ``PROVOKED``; any other refusal of a service
user in Redis's ``ACL LOG`` is one the service met in normal operation (a command or key its ACL lacks),
and fails the last check here.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

import pytest
import redis

from tests.harness.manifest import Manifest
from tests.lab.provisioned import PROVOKED, admin_client, host, manifests, redis_as

pytestmark = [pytest.mark.lab, pytest.mark.lab_state]

# Commands no service may run: wiping, reconfiguring, stopping or inspecting the whole server.
FORBIDDEN = (
    ("flushall",),
    ("flushdb",),
    ("config", "set", "appendonly", "no"),
    ("shutdown", "nosave"),
    ("debug", "sleep", "0"),
    ("keys", "*"),
    ("acl", "setuser", "intruder", "on"),
    ("eval", "return 1", "0"),
)
# A command a service may have that reads one key, and its arguments (harmless if it is let through).
KEY_READS = {
    "exists": (),
    "hgetall": (),
    "hget": ("field",),
    "get": (),
    "xrange": ("-", "+"),
}
WRITES = (("del",), ("set", "x"), ("hset", "f", "v"), ("xadd", "*", "f", "v"))
UNOWNED = "galaxylab-acl-check:unowned"
# contracts/redis/keys.md "Who may touch what": a key of every family and which service may touch it
# (r: read only). Written out here, not read from the catalog or the manifest, so a widened ACL is caught.
CONTRACT: dict[str, dict[str, str]] = {
    "authsession:session:s_0": {"gateway": "r", "authsession": "rw"},
    "authsession:user-sessions:u_0": {"authsession": "rw"},
    "authsession:challenge:c_0": {"authsession": "rw"},
    "authsession:challenge-starts:0": {"authsession": "rw"},
    "authsession:welcome-outbox": {"authsession": "rw"},
    "authsession:welcome-pending:c_0": {"authsession": "rw"},
    "gateway:login-starts:127.0.0.1": {"gateway": "rw"},
    "user:account:u_0": {"user": "rw"},
    "user:email:acl-check@example.test": {"user": "rw"},
    "notification:intents": {"authsession": "rw", "user": "rw", "notification": "rw"},
    "notification:intents:dead": {"notification": "rw"},
    "notification:delivered:i_0": {"notification": "rw"},
    "gateway:push": {"gateway": "r", "notification": "rw"},
    "mail:deliveries": {"mail": "rw", "notification": "rw"},
    "mail:deliveries:dead": {"mail": "rw"},
    "mail:delivery:d_0": {"mail": "rw"},
    "mail:queue": {"mail": "rw"},
    UNOWNED: {},
}


def service_users() -> list[Any]:
    """(manifest, component, user) of every program logging in to its boundary's Redis as its own user."""
    found = []
    for m in manifests():
        for name, component in sorted(m.components.items()):
            user = component.settings.get("REDIS_USERNAME")
            if user is not None:
                found.append(pytest.param(m, name, user, id=f"{m.boundary}-{user}"))
    return found


def by_boundary() -> list[Any]:
    return [pytest.param(m, id=m.boundary) for m in manifests()]


def commands(rules: str) -> list[str]:
    """The commands an ACL user's rules allow one by one (with ``+@all``: every one this module tries)."""
    if "+@all" in rules.split():
        return list(KEY_READS)
    return [rule[1:] for rule in rules.split() if rule.startswith("+") and not rule.startswith("+@")]


def service_password(manifest: Manifest, component: str) -> str:
    """The password a program reads: its ``REDIS_PASSWORD_FILE``, on its own host."""
    entry = manifest.component(component)
    return password_file(entry.host, entry.settings["REDIS_PASSWORD_FILE"])


@cache
def password_file(host_name: str, path: str) -> str:
    """A password file's content, read once (several checks log in as each service user)."""
    file = host(host_name).file(path)
    assert file.is_file, f"{host_name}:{path} missing"
    return str(file.content_string).strip()


def dry_run(manifest: Manifest, user: str, *command: str) -> str:
    """``ACL DRYRUN``: ``OK`` when ``user`` could run ``command``, else Redis's reason (nothing is run)."""
    with admin_client(manifest) as admin:
        return str(admin.execute_command("ACL", "DRYRUN", user, *command))


@pytest.mark.parametrize("manifest", by_boundary())
def test_without_a_login_every_command_is_refused(manifest: Manifest) -> None:
    with redis_as(manifest, None) as anonymous, pytest.raises(redis.AuthenticationError, match=r"NOAUTH|authenticated"):
        anonymous.ping()


@pytest.mark.parametrize("manifest", by_boundary())
def test_the_default_user_is_switched_off(manifest: Manifest) -> None:
    with redis_as(manifest, "default", "any password") as default, pytest.raises(redis.AuthenticationError):
        default.ping()
    assert manifest.redis.users["default"].split()[0] == "off"


@pytest.mark.parametrize(("manifest", "component", "user"), service_users())
def test_a_service_logs_in_as_its_own_user_with_its_password_file(
    manifest: Manifest, component: str, user: str
) -> None:
    assert user in manifest.redis.users, f"{component} logs in as {user}, a user the manifest's ACL does not have"
    with redis_as(manifest, user, service_password(manifest, component)) as client:
        assert client.ping()


@pytest.mark.parametrize(("manifest", "component", "user"), service_users())
def test_a_service_user_cannot_run_a_command_outside_its_set(manifest: Manifest, component: str, user: str) -> None:
    allowed = [" ".join(command) for command in FORBIDDEN if dry_run(manifest, user, *command) == "OK"]
    assert not allowed, f"{user} ({component}) may run {allowed}"


@pytest.mark.parametrize(("manifest", "component", "user"), service_users())
def test_a_service_user_is_refused_config_for_real(manifest: Manifest, component: str, user: str) -> None:
    password = service_password(manifest, component)
    with (
        redis_as(manifest, user, password, name=PROVOKED) as client,
        pytest.raises(redis.exceptions.NoPermissionError, match="config"),
    ):
        client.config_get("maxmemory")


@pytest.mark.parametrize(("manifest", "component", "user"), service_users())
def test_a_service_user_cannot_touch_a_key_outside_its_patterns(manifest: Manifest, component: str, user: str) -> None:
    read = next((c for c in commands(manifest.redis.users[user]) if c in KEY_READS), None)
    assert read is not None, f"{user} has none of {sorted(KEY_READS)} to try a key with"
    answers = {}
    with redis_as(manifest, user, service_password(manifest, component), name=PROVOKED) as client:
        for key in [key for key, users in CONTRACT.items() if user not in users]:
            try:
                client.execute_command(read, key, *KEY_READS[read])
            except redis.exceptions.NoPermissionError as error:
                answers[key] = str(error)
            else:
                answers[key] = "let through"
    not_refused = {key: answer for key, answer in answers.items() if "permissions to access" not in answer}
    assert not not_refused, f"{user} ({component}) {read}: {not_refused}"


@pytest.mark.parametrize(("manifest", "component", "user"), service_users())
def test_a_service_user_cannot_write_a_key_it_may_only_read(manifest: Manifest, component: str, user: str) -> None:
    read_only = [key for key, users in CONTRACT.items() if users.get(user) == "r"]
    allowed = [
        f"{w[0]} {key}" for key in read_only for w in WRITES if dry_run(manifest, user, w[0], key, *w[1:]) == "OK"
    ]
    assert not allowed, f"{user} ({component}) may write {allowed}"


@pytest.mark.parametrize("manifest", by_boundary())
def test_the_harness_user_reads_and_writes_any_key(manifest: Manifest) -> None:
    key = f"galaxylab-acl-check:harness:{uuid.uuid4().hex}"
    with redis_as(manifest, "harness") as harness:
        assert harness.set(key, "1", ex=60)
        assert harness.get(key) == "1"
        assert harness.delete(key) == 1


@pytest.mark.parametrize("manifest", by_boundary())
def test_the_harness_user_cannot_wipe_or_reconfigure_the_boundary(manifest: Manifest) -> None:
    wiping = (("flushall",), ("flushdb",), ("config", "set", "save", ""), ("shutdown", "nosave"))
    allowed = [" ".join(command) for command in wiping if dry_run(manifest, "harness", *command) == "OK"]
    assert not allowed, f"the harness may run {allowed}"


@pytest.mark.parametrize("manifest", by_boundary())
def test_the_readiness_probe_user_may_only_ping(manifest: Manifest) -> None:
    user = "probe"
    assert manifest.redis.probe.url.startswith((f"redis://{user}@", f"rediss://{user}@"))
    with redis_as(manifest, user, "", name=PROVOKED) as probe:
        assert probe.ping()
        with pytest.raises(redis.exceptions.NoPermissionError):
            probe.get(UNOWNED)


def acl_log(manifest: Manifest) -> tuple[list[dict[str, Any]], int]:
    """The boundary's whole ``ACL LOG``, newest first, each ``client-info`` as a dict, and how many entries
    Redis keeps (``acllog-max-len``); read as ``admin``."""
    with admin_client(manifest) as admin:
        kept = int(admin.config_get("acllog-max-len")["acllog-max-len"])
        entries = admin.acl_log(count=kept)
    return [{**entry, "client-info": client_info(entry.get("client-info", ""))} for entry in entries], kept


def client_info(value: Any) -> dict[str, str]:
    """``CLIENT INFO``'s ``name=value`` fields (redis-py may have parsed them already)."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return dict(field.split("=", 1) for field in str(value).split() if "=" in field)


def refusal(entry: dict[str, Any]) -> str:
    info = entry["client-info"]
    return (
        f"{entry['username']}: {entry['reason']} {entry['object']!r} refused to {info.get('cmd', '?')} "
        f"({entry['context']}, {entry['count']}x, last {float(entry['age-seconds']):.0f}s ago, from {info.get('addr')})"
    )


@pytest.mark.parametrize("manifest", by_boundary())
def test_no_service_user_was_refused_in_normal_operation(manifest: Manifest) -> None:
    """Every refusal in the ACL LOG of a user a program logs in as, except the ones provoked above."""
    services = {c.settings["REDIS_USERNAME"] for c in manifest.components.values() if "REDIS_USERNAME" in c.settings}
    entries, kept = acl_log(manifest)
    refused = [
        refusal(entry)
        for entry in entries
        if entry["username"] in services and entry["client-info"].get("name") != PROVOKED
    ]
    assert not refused, f"{manifest.boundary}: refused in normal operation: {refused}"
    assert len(entries) < kept, f"the ACL LOG is full ({kept} entries): older refusals may have been dropped"
