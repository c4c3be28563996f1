"""``galaxy.lab.*`` filters over galaxylab.plan: the playbooks and roles loop over data this computes.

The controller's venv has the project installed (``make venv``), so ``galaxylab`` imports as usual.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from galaxylab import artifact, plan, secrets
from galaxylab.plan import render
from galaxylab.plan.files import SECRET_FILES, SIGNING_KEY


def lab_hosts(hostvars: Mapping[str, Any], names: Sequence[str]) -> dict[str, dict[str, str]]:
    """``{host: {address, root, testinfra, owner, group}}`` from the ``galaxylab_*`` host vars (owner, group: the lab
    user every program runs as)."""
    hosts: dict[str, dict[str, str]] = {}
    for name in names:
        values = hostvars[name]
        hosts[name] = {
            "address": values.get("galaxylab_address", ""),
            "root": values.get("galaxylab_root", ""),
            "testinfra": values.get("galaxylab_testinfra", ""),
            "owner": values.get("galaxylab_owner", plan.LAB_USER),
            "group": values.get("galaxylab_group", plan.LAB_GROUP),
        }
    return hosts


def select_boundaries(
    boundaries: Sequence[Mapping[str, Any]], names: Sequence[str] | str | None = None, port_offset: int = 0
) -> list[dict[str, Any]]:
    """The boundaries the inventory selects (``galaxylab_boundary_names``), moved by ``galaxylab_port_offset``."""
    if isinstance(port_offset, str) and port_offset.strip().lstrip("-").isdigit():
        port_offset = int(port_offset)  # from `-e galaxylab_port_offset=100`
    return plan.select_boundaries(boundaries, names, port_offset)


def boundary_hosts(
    boundaries: Sequence[Mapping[str, Any]],
    default_host: str,
    placement: Mapping[str, Mapping[str, str]] | None,
    hosts: Mapping[str, Mapping[str, Any]],
) -> dict[str, list[str]]:
    """``{host: [boundary]}``: which boundaries have something on each host."""
    return plan.boundary_hosts(boundaries, plan.parse_placement(default_host, placement), plan.parse_hosts(hosts))


def lab_plan(
    boundaries: Sequence[Mapping[str, Any]],
    default_host: str,
    placement: Mapping[str, Mapping[str, str]] | None,
    hosts: Mapping[str, Mapping[str, Any]],
    kids: Mapping[str, str],
    redis_hashes: Mapping[str, Mapping[str, str]],
    release: str,
    redis_server: str = "/usr/bin/redis-server",
    tls: bool = False,
) -> dict[str, Any]:
    """The whole lab plan (see galaxylab.plan.build_plan)."""
    return plan.build_plan(
        boundaries,
        plan.parse_placement(default_host, placement),
        plan.parse_hosts(hosts),
        kids=kids,
        redis_hashes=redis_hashes,
        release=release,
        redis_server=redis_server,
        tls=_flag(tls),
    )


def _flag(value: Any) -> bool:
    """An inventory boolean, also as ``-e galaxylab_tls=true`` passes it (a string)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def tls_hosts(hosts: Mapping[str, Mapping[str, Any]], enabled: Any) -> dict[str, str]:
    """``{host: address}`` of the lab hosts that get a TLS certificate: all of them with TLS on, else none."""
    return {name: str(values["address"]) for name, values in hosts.items()} if _flag(enabled) else {}


def secrets_argv(
    boundary_hosts_map: Mapping[str, Sequence[str]], directory: str, tls: Mapping[str, str] | None = None
) -> list[str]:
    """Arguments of ``galaxylab.secrets ensure`` for every boundary, one bundle per host, and with TLS on
    (``tls``: ``{host: address}``) each host's certificate."""
    boundaries = sorted({b for names in boundary_hosts_map.values() for b in names})
    argv = ["ensure", directory, "--boundary", *boundaries] if boundaries else ["ensure", directory]
    for host, names in sorted(boundary_hosts_map.items()):
        argv += ["--bundle", f"{host}={','.join(names)}"]
    for host, address in sorted((tls or {}).items()):
        argv += ["--tls", f"{host}={address}"]
    return argv


def ready_argv(checks: Sequence[Mapping[str, str | None]]) -> list[str]:
    """``--check NAME=URL`` (and ``--ca NAME=FILE`` of a TLS probe) arguments of ``galaxylab.ready``."""
    argv: list[str] = []
    for check in checks:
        argv += ["--check", f"{check['name']}={check['url']}"]
        if check.get("ca"):
            argv += ["--ca", f"{check['name']}={check['ca']}"]
    return argv


def program_files(
    groups: Sequence[Mapping[str, Any]],
    owner: str,
    group: str,
    policy: Mapping[str, Any],
    extra_environment: Mapping[str, Mapping[str, str]] | None = None,
    header: str = "",
) -> list[dict[str, Any]]:
    """A host's program files, one per boundary group (see galaxylab.plan.render)."""
    return render.program_files(groups, owner, group, render.ProgramPolicy(**policy), extra_environment, header)


def redis_files(
    configs: Sequence[Mapping[str, Any]],
    owner: str,
    group: str,
    extra_directives: Mapping[str, Any] | None = None,
    header: str = "",
) -> list[dict[str, Any]]:
    """A host's redis.conf files, each with the program it configures and its checksum."""
    return render.redis_files(configs, owner, group, extra_directives, header)


def supervisord_file(
    supervisor: Mapping[str, Any], root: str, owner: str, group: str, release: str, header: str = ""
) -> dict[str, Any]:
    """The host's supervisord.conf as a file to place (``owner``, ``group``: the file's; it runs as its ``user``)."""
    content = render.supervisord_conf(supervisor, root, release, header)
    return render.config_file(supervisor["conf"], content, owner, group)


def manifest_text(manifest: Mapping[str, Any]) -> str:
    """A manifest file's exact text (sorted keys, 4-space indent, as to_nice_json writes it)."""
    return json.dumps(manifest, indent=4, sort_keys=True, separators=(",", ": ")) + "\n"


def manifest_writes(manifests: Sequence[Mapping[str, Any]], directory: str) -> list[dict[str, str]]:
    """``[{path, content}]`` of the manifests whose file in ``directory`` does not already hold exactly their text."""
    writes = []
    for manifest in manifests:
        path = Path(directory) / f"{manifest['boundary']}.json"
        text = manifest_text(manifest)
        try:
            same = path.read_text(encoding="utf-8") == text
        except OSError:
            same = False
        if not same:
            writes.append({"path": str(path), "content": text})
    return writes


def built_artifact(project: str, build_dir: str) -> dict[str, Any]:
    """The artifact of this source tree as ``galaxylab.artifact build`` prints it, if it is already built; else {}.

    Computed in the controller's process, so a re-run starts no build process at all.
    """
    return artifact.describe(Path(build_dir).resolve(), artifact.content_id(Path(project).resolve())) or {}


def planned_artifact(project: str) -> dict[str, Any]:
    """The artifact this source tree would build, not built (what check mode reports): its id only."""
    artifact_id = artifact.content_id(Path(project).resolve())
    layer = artifact.layer_id(Path(project).resolve())
    return {
        "id": artifact_id,
        "path": "",
        "tarball": "",
        "wheel": "",
        "layer": layer,
        "layer_tarball": "",
        "changed": True,
    }


def ready_secrets(
    boundary_hosts_map: Mapping[str, Sequence[str]], directory: str, tls: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``{boundary: kid}`` when every secret, TLS certificate (``tls``: ``{host: address}``) and host bundle
    ``galaxylab.secrets ensure`` would write is already there, private and up to date; {} when it has something to
    do (or there is no boundary)."""
    root = Path(directory)
    tls = tls or {}
    boundaries = sorted({b for names in boundary_hosts_map.values() for b in names})
    kids: dict[str, str] = {}
    try:
        if tls and not secrets.tls_current(root, tls):
            return {}
        for boundary in boundaries:
            folder = root / boundary
            if any((folder / name).stat().st_mode & 0o777 != secrets.FILE_MODE for name in SECRET_FILES):
                return {}
            kids[boundary] = secrets.kid_of((folder / SIGNING_KEY).read_bytes())
        for host, names in boundary_hosts_map.items():
            bundle = root / secrets.BUNDLES / f"{host}.tar"
            if bundle.read_bytes() != secrets.bundle_bytes(root, names, host if host in tls else None):
                return {}
    except (OSError, ValueError):
        return {}
    return kids


def redis_password_hashes(boundary_hosts_map: Mapping[str, Sequence[str]], directory: str) -> dict[str, dict[str, str]]:
    """``{boundary: {Redis user: SHA-256 of its password}}`` from the controller's secrets (after ``ensure``):
    what redis.conf's ACL holds instead of the passwords."""
    boundaries = sorted({b for names in boundary_hosts_map.values() for b in names})
    return {boundary: secrets.redis_password_hashes(Path(directory) / boundary) for boundary in boundaries}


class FilterModule:
    """galaxy.lab.* filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "lab_hosts": lab_hosts,
            "select_boundaries": select_boundaries,
            "boundary_hosts": boundary_hosts,
            "plan": lab_plan,
            "secrets_argv": secrets_argv,
            "tls_hosts": tls_hosts,
            "ready_argv": ready_argv,
            "program_files": program_files,
            "redis_files": redis_files,
            "restart_environment": render.restart_environment,
            "supervisord_file": supervisord_file,
            "manifest_writes": manifest_writes,
            "built_artifact": built_artifact,
            "planned_artifact": planned_artifact,
            "ready_secrets": ready_secrets,
            "redis_password_hashes": redis_password_hashes,
            "supervisor_environment": plan.supervisor_environment,
        }
