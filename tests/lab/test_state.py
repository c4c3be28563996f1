"""The provisioned state: programs running and listening, file modes, durable Redis, no leaked secret."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.harness.manifest import Manifest, state_dir
from tests.lab.provisioned import (
    Stat,
    admin_client,
    all_manifests,
    environment,
    host,
    lab_hosts,
    manifests,
    program_id,
    programs,
    stats,
)

pytestmark = [pytest.mark.lab, pytest.mark.lab_state]

SECRET_DIR_MODE = 0o700
SECRET_FILE_MODE = 0o600
CONFIG_MODE = 0o640
CONFIG_OWNER = "root"


@pytest.mark.parametrize("program", programs(), ids=program_id)
def test_program_is_running_under_the_lab_supervisord(program: Any, states: dict[str, str]) -> None:
    assert states.get(program.name) == "RUNNING", f"{program.name} is {states.get(program.name, 'not configured')}"


@pytest.mark.parametrize("program", programs(), ids=program_id)
def test_program_listens_on_its_manifest_ports(program: Any) -> None:
    for port in program.ports:
        assert is_listening(program.host, program.address, port), f"{program.name}: nothing on {program.address}:{port}"


def is_listening(host_name: str, address: str, port: int) -> bool:
    """IPv4, or IPv4-mapped IPv6 (gRPC listens on a dual-stack socket bound to ::ffff:<address>)."""
    target = host(host_name)
    return bool(
        target.socket(f"tcp://{address}:{port}").is_listening
        or target.socket(f"tcp://::ffff:{address}:{port}").is_listening
    )


def config_files() -> list[tuple[str, str, str]]:
    """(host, path, lab group) of supervisord's and every boundary's rendered config."""
    files = set()
    for manifest in manifests():
        for name, entry in manifest.hosts.items():
            files.add((name, entry.supervisor_conf, entry.group))
            files.add((name, entry.program_conf, entry.group))
        redis_host = manifest.hosts[manifest.redis.host]
        files.add((manifest.redis.host, manifest.redis.conf, redis_host.group))
    return sorted(files)


@cache
def file_stats(host_name: str) -> dict[str, Stat]:
    """The host's config files and secrets as ``stat`` sees them, one command (they do not change meanwhile)."""
    paths = {path for name, path, _ in config_files() if name == host_name}
    paths.update(path for name, path, *_ in secret_paths() if name == host_name)
    return stats(host_name, sorted(paths))


@pytest.mark.parametrize(("host_name", "path", "group"), config_files(), ids=lambda v: str(v))
def test_config_file_is_roots_readable_by_the_lab_group_only(host_name: str, path: str, group: str) -> None:
    """What supervisord and Redis (the lab user) read and must not change: root's, 0640, the lab group's."""
    file = file_stats(host_name).get(path)
    assert file is not None, f"{host_name}:{path} missing"
    assert file.kind == "file", f"{host_name}:{path} is a {file.kind}, not a file"
    assert (oct(file.mode), file.user, file.group) == (oct(CONFIG_MODE), CONFIG_OWNER, group)


def secret_paths() -> list[tuple[str, str, int, str, str]]:
    """(host, path, mode, owner, group) of every secret dir and file on every host that has them."""
    result = set()
    for manifest in manifests():
        secrets = manifest.secrets
        for name in secrets.hosts:
            entry = manifest.hosts[name]
            directory = f"{entry.root}/secrets/{manifest.boundary}"
            result.add((name, directory, SECRET_DIR_MODE, entry.owner, entry.group))
            for path in secrets.files:
                local = path.replace(secrets.dir, directory, 1)
                result.add((name, local, SECRET_FILE_MODE, entry.owner, entry.group))
    return sorted(result)


@pytest.mark.parametrize(("host_name", "path", "mode", "owner", "group"), secret_paths(), ids=lambda v: str(v))
def test_secret_is_private_to_the_lab_user(host_name: str, path: str, mode: int, owner: str, group: str) -> None:
    """Readable by the lab user (which the programs run as) only: 0600 files, 0700 directories, its own."""
    file = file_stats(host_name).get(path)
    assert file is not None, f"{host_name}:{path} missing"
    assert owner != "root", f"the lab user of {host_name} is root"
    assert (oct(file.mode), file.user, file.group) == (oct(mode), owner, group)


def durable_redis() -> list[Any]:
    durable = [m for m in manifests() if m.redis.mode == "durable"]
    if not durable:
        reason = "no durable Redis in the manifests (every boundary brought up uses ephemeral Redis)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="none-durable")]
    return [pytest.param(m, id=m.boundary) for m in durable]


def redis_config(manifest: Manifest, name: str) -> str:
    """``CONFIG GET name`` as the boundary's ``admin`` ACL user (the only one allowed to)."""
    with admin_client(manifest) as admin:
        reply = admin.config_get(name)
    return str(reply.get(name, ""))


@pytest.mark.parametrize("manifest", durable_redis())
def test_durable_redis_has_aof_with_fsync_always(manifest: Manifest) -> None:
    assert redis_config(manifest, "appendonly") == "yes"
    assert redis_config(manifest, "appendfsync") == "always"
    data = host(manifest.redis.host).file(manifest.redis.dir)
    entry = manifest.hosts[manifest.redis.host]
    assert (oct(data.mode), data.user, data.group) == (oct(0o700), entry.owner, entry.group)


EPHEMERAL = [m for m in manifests() if m.redis.mode == "ephemeral"]


@pytest.mark.parametrize("manifest", EPHEMERAL, ids=lambda m: m.boundary)
def test_ephemeral_redis_keeps_nothing_on_disk(manifest: Manifest) -> None:
    assert redis_config(manifest, "appendonly") == "no"
    assert redis_config(manifest, "save") == ""


@cache
def secret_values(boundary: str) -> tuple[str, ...]:
    """Every secret value of a boundary (tokens, the private key's body), read on its secrets host."""
    manifest = next(m for m in manifests() if m.boundary == boundary)
    secrets = manifest.secrets
    reader = host(secrets.host)
    values = set(json.loads(reader.file(secrets.service_tokens).content_string).values())
    values.add(reader.file(secrets.operator_token).content_string.strip())
    values.update(reader.file(path).content_string.strip() for path in secrets.redis_users.values())
    pem = reader.file(secrets.signing_key).content_string
    values.update(line for line in pem.splitlines() if line and not line.startswith("-----"))
    assert all(len(value) >= 16 for value in values), "a secret is too short to grep for reliably"
    return tuple(sorted(values))


FILE_HEAD = re.compile(r"^==> (.+) <==$\n", re.MULTILINE)


@cache
def exposed_text(host_name: str) -> dict[str, str]:
    """What an operator can see on a host: every log file, supervisord's configs, ps output."""
    entry = lab_hosts()[host_name]
    target = host(host_name)
    root = entry.root
    # Every file in one command (`tail -v` heads each with its name), not one `cat` per file.
    listing = target.run(f"find {root}/log {root}/supervisor -type f -exec tail -v -n +1 -- {{}} +")
    assert listing.rc == 0, listing.stderr
    texts = files_of(listing.stdout)
    texts["ps"] = target.run("ps -eww -o args").stdout
    return texts


def files_of(listing: str) -> dict[str, str]:
    """``{path: text}`` of ``tail -v`` output: each file's text after its ``==> path <==`` line."""
    parts = FILE_HEAD.split(listing)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize("boundary", [m.boundary for m in manifests()])
def test_no_secret_appears_in_any_log_config_or_process_list(boundary: str) -> None:
    leaks = [
        f"{host_name}:{where}"
        for host_name in lab_hosts()
        for where, text in exposed_text(host_name).items()
        for value in secret_values(boundary)
        if value in text
    ]
    assert not leaks, f"secrets of {boundary} found in: {sorted(set(leaks))}"


# `make up` keeps the output of the first bring-up, the one that generates and copies the secrets.
BRING_UP_OUTPUT = Path(__file__).resolve().parents[2] / "reports" / "up.log"


@pytest.mark.skipif(not BRING_UP_OUTPUT.exists(), reason="no bring-up output kept (bring up with `make up`)")
@pytest.mark.parametrize("boundary", [m.boundary for m in manifests()])
def test_no_secret_appears_in_the_bring_up_output(boundary: str) -> None:
    output = BRING_UP_OUTPUT.read_text()
    leaked = sum(value in output for value in secret_values(boundary))
    assert not leaked, f"{leaked} secret(s) of {boundary} printed by bring-up ({BRING_UP_OUTPUT})"


@pytest.mark.parametrize("program", programs(), ids=program_id)
def test_program_logs_where_the_manifest_says(program: Any) -> None:
    assert program.log.endswith(f"/log/{program.boundary}/{program.component}.log")
    assert host(program.host).file(program.log).is_file, program.log


def test_every_manifest_on_disk_validates_against_the_model() -> None:
    """``manifests()`` validates each file; this names the state dir's files so a missing one shows too."""
    names = sorted(path.stem for path in (state_dir() / "manifests").glob("*.json"))
    assert names == sorted(m.boundary for m in all_manifests())


@pytest.mark.parametrize("host_name", sorted(lab_hosts()))
def test_debian_default_redis_is_neither_running_nor_enabled(host_name: str) -> None:
    target = host(host_name)
    assert not target.socket("tcp://127.0.0.1:6379").is_listening, "something listens on Redis' default port"
    links = target.run("ls /etc/rc2.d /etc/rc3.d /etc/rc4.d /etc/rc5.d").stdout.split()
    assert not [link for link in links if link.startswith("S") and link.endswith("redis-server")]
    assert not target.file("/etc/systemd/system/multi-user.target.wants/redis-server.service").exists


COMPONENTS = [(m, name) for m in manifests() for name in sorted(m.components)]


@pytest.mark.parametrize(("manifest", "component"), COMPONENTS, ids=[f"{m.boundary}-{c}" for m, c in COMPONENTS])
def test_program_runs_with_exactly_the_settings_its_manifest_publishes(
    manifest: Manifest, component: str, pids: dict[str, int]
) -> None:
    """A program pointed elsewhere (another boundary's Redis, another port) than its manifest says is caught."""
    entry = manifest.component(component)
    env = environment(entry.host, pids[entry.program])
    running = {
        key.removeprefix(entry.env_prefix): value for key, value in env.items() if key.startswith(entry.env_prefix)
    }
    assert running == entry.settings
