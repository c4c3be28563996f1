"""Role argument specs against what the playbooks really hand the roles, and the roles' own hygiene.

Every ``import_role`` of playbooks/up.yml and down.yml is rendered the way Ansible would for every
host of a plan built from playbooks/vars/boundaries.yml and an inventory, then validated with
ansible-core's ``ArgumentSpecValidator`` built from the role's meta/argument_specs.yml entry point (what
role argument validation runs before the role's first task). A plan or playbook that hands a role a key
its spec does not know, or leaves out one it requires, fails here instead of on a lab host.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from jinja2 import StrictUndefined, UndefinedError
from jinja2.nativetypes import NativeEnvironment

from galaxylab.plan.files import REDIS_USERS

REPO = Path(__file__).resolve().parents[3]
ROLES_DIR = REPO / "roles"
ROLES = sorted(path.name for path in ROLES_DIR.iterdir() if (path / "tasks").is_dir())
PLAYBOOKS = ("up.yml", "down.yml")
INVENTORIES = ("local", "example-multihost")
STATE_DIR = "/state/.lab"
# What galaxylab.artifact build prints (its module docstring): the artifact role's artifact_built.
ARTIFACT_BUILT = {
    "id": "0123456789ab",
    "path": f"{REPO}/build/artifact/0123456789ab",
    "tarball": f"{REPO}/build/artifact/0123456789ab.tar",
    "wheel": "galaxy_lab-0.1.0-py3-none-any.whl",
    "layer": "fedcba9876543210-py3.11",
    "layer_tarball": f"{REPO}/build/artifact/.layers/fedcba9876543210-py3.11.tar",
    "changed": True,
}


def _load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _filters() -> dict[str, Callable[..., Any]]:
    plugin = REPO / "collections/ansible_collections/galaxy/lab/plugins/filter/lab.py"
    spec = importlib.util.spec_from_file_location("galaxylab_filters", plugin)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    filters: dict[str, Callable[..., Any]] = {
        f"galaxy.lab.{name}": function for name, function in module.FilterModule().filters().items()
    }
    return filters


FILTERS = _filters()


def _lookup(plugin: str, *terms: str, **_: Any) -> str:
    """The lookups the roles' defaults and lab.yml use, answered without running anything."""
    return {"ansible.builtin.pipe": "lab", "ansible.builtin.env": ""}[plugin]


ENV = NativeEnvironment(undefined=StrictUndefined)
ENV.filters.update(FILTERS)
ENV.filters["dirname"] = os.path.dirname
ENV.globals["lookup"] = _lookup


def _render(value: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return ENV.from_string(value).render(context)
    if isinstance(value, dict):
        return {key: _render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, context) for item in value]
    return value


def _resolve(variables: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """Render variables that may refer to one another (Ansible's lazy vars), in whatever order works."""
    done: dict[str, Any] = {}
    pending = dict(variables)
    while pending:
        progressed = False
        for name, value in list(pending.items()):
            try:
                done[name] = _render(value, {**context, **done})
            except UndefinedError:
                continue
            del pending[name]
            progressed = True
        if not progressed:
            raise AssertionError(f"variables refer to something undefined: {sorted(pending)}")
    return done


def _condition(when: Any, context: Mapping[str, Any]) -> bool:
    conditions = when if isinstance(when, list) else [when]
    return all(bool(ENV.compile_expression(str(item))(**context)) for item in conditions)


# ---------------------------------------------------------------------------
# the inventory, the plan and the role calls of the playbooks


@dataclass(frozen=True)
class Lab:
    """What the plays see of an inventory: the controller and every lab host."""

    controller: dict[str, Any]
    hosts: dict[str, dict[str, Any]]


def _lab(inventory: str, boundaries: list[dict[str, Any]]) -> Lab:
    folder = REPO / "inventory" / inventory
    group_all = _load_yaml(folder / "group_vars/all.yml") or {}
    group_lab = _load_yaml(folder / "group_vars/galaxylab.yml") or {}
    host_vars = _load_yaml(folder / "hosts.yml")["galaxylab"]["hosts"]
    magic = {
        "playbook_dir": str(REPO / "playbooks"),
        "ansible_playbook_python": "/usr/bin/python3",
        "groups": {"galaxylab": list(host_vars)},
    }
    hostvars = {
        name: {**_resolve({**group_all, **group_lab, **(values or {})}, magic), "inventory_hostname": name}
        for name, values in host_vars.items()
    }
    # vars_files of every play; the lab state dir comes from a lookup, so it is given.
    lab_vars = {
        key: value for key, value in _load_yaml(REPO / "playbooks/vars/lab.yml").items() if key != "galaxylab_state_dir"
    }
    plays = {**magic, "hostvars": hostvars, "galaxylab_boundaries": boundaries, "galaxylab_state_dir": STATE_DIR}
    controller = {**plays, **_resolve({**group_all, **lab_vars}, plays), "inventory_hostname": "localhost"}
    hosts = {name: {**plays, **values, **_resolve(lab_vars, {**plays, **values})} for name, values in hostvars.items()}
    return Lab(controller, hosts)


@dataclass(frozen=True)
class RoleCall:
    """One import_role of a playbook for one host, with the variables it runs with."""

    id: str
    role: str
    entry_point: str
    variables: dict[str, Any]


def _role_tasks(playbook: str) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for play in _load_yaml(REPO / "playbooks" / playbook):
        for task in play.get("tasks", []):
            if "ansible.builtin.import_role" in task:
                yield play["hosts"], task, task["ansible.builtin.import_role"]


def _defaults(role: str) -> dict[str, Any]:
    path = ROLES_DIR / role / "defaults/main.yml"
    return (_load_yaml(path) or {}) if path.exists() else {}


def _call(
    playbook: str, target: str, task: dict[str, Any], imported: dict[str, Any], context: dict[str, Any]
) -> RoleCall:
    role = imported["name"]
    entry_point = imported.get("tasks_from", "main")
    task_vars = _render(task.get("vars", {}), context)
    variables = {**_resolve(_defaults(role), {**context, **task_vars}), **context, **task_vars}
    return RoleCall(f"{playbook}:{task['name']}:{target}", role, entry_point, variables)


def _calls(inventory: str, variant: str) -> list[RoleCall]:
    """Every role call of up.yml then down.yml, with the facts earlier plays of the same playbook set."""
    lab = _lab(inventory, _boundaries(variant))
    calls: list[RoleCall] = []
    for playbook in PLAYBOOKS:
        controller_facts: dict[str, Any] = {}
        host_facts: dict[str, dict[str, Any]] = {name: {} for name in lab.hosts}
        for hosts, task, imported in _role_tasks(playbook):
            if hosts == "localhost":
                targets = {"localhost": {**lab.controller, **controller_facts}}
            else:
                assert hosts == "galaxylab", f"{playbook}: a play on {hosts}"
                targets = {name: {**values, **host_facts[name]} for name, values in lab.hosts.items()}
            for target, context in targets.items():
                if "when" in task and not _condition(task["when"], context):
                    continue
                call = _call(f"{inventory}/{variant}/{playbook}", target, task, imported, context)
                calls.append(call)
                _set_facts(call, controller_facts, host_facts.get(target, {}), host_facts)
    return calls


def _set_facts(
    call: RoleCall,
    controller: dict[str, Any],
    host: dict[str, Any],
    hosts: dict[str, dict[str, Any]],
) -> None:
    """The facts the roles publish (their README's "Sets"), as later tasks and plays see them."""
    v = call.variables
    if (call.role, call.entry_point) == ("artifact", "build"):
        controller["artifact_built"] = ARTIFACT_BUILT
    if (call.role, call.entry_point) == ("secrets", "generate"):
        boundaries = {name for names in v["secrets_boundary_hosts"].values() for name in names}
        controller["secrets_kids"] = {name: f"kid-{name}" for name in boundaries}
        controller["secrets_redis_hashes"] = {name: dict.fromkeys(REDIS_USERS, "0" * 64) for name in boundaries}
    if call.role == "lab_plan":
        result = _lab_plan_result(v)
        controller["lab_plan_result"] = result
        for name, host_plan in result["hosts"].items():
            hosts[name].update(lab_plan_host=host_plan, lab_plan_host_release=v["lab_plan_artifact"])
    if (call.role, call.entry_point) == ("redis_instance", "main"):
        files = FILTERS["galaxy.lab.redis_files"](
            v["redis_instance_configs"],
            v["redis_instance_owner"],
            v["redis_instance_group"],
            v["redis_instance_extra_directives"],
            v["redis_instance_header"],
        )
        host["redis_instance_files"] = files
        host["redis_instance_environment"] = FILTERS["galaxy.lab.restart_environment"](files)
    if (call.role, call.entry_point) == ("service_instance", "main"):
        policy = {key: v[f"service_instance_{key}"] for key in POLICY}
        host["service_instance_files"] = FILTERS["galaxy.lab.program_files"](
            v["service_instance_groups"],
            v["service_instance_owner"],
            v["service_instance_group"],
            policy,
            v["service_instance_extra_environment"],
            v["service_instance_header"],
        )
    if (call.role, call.entry_point) == ("process_manager", "files"):
        host["process_manager_files"] = [
            FILTERS["galaxy.lab.supervisord_file"](
                v["process_manager_supervisor"],
                v["process_manager_root"],
                v["process_manager_owner"],
                v["process_manager_group"],
                v["process_manager_release"],
                v["process_manager_header"],
            )
        ]
    if (call.role, call.entry_point) == ("lab_root", "main"):
        # As on a first run: every placed file changed.
        host["lab_root_changed"] = [file["path"] for file in v.get("lab_root_files", [])]


POLICY = ("startsecs", "startretries", "stopwaitsecs", "log_maxbytes", "log_backups")


def _lab_plan_result(variables: Mapping[str, Any]) -> dict[str, Any]:
    """What the lab_plan role computes from its inputs (roles/lab_plan/vars/main.yml)."""
    result: dict[str, Any] = FILTERS["galaxy.lab.plan"](
        variables["lab_plan_boundaries"],
        variables["lab_plan_default_host"],
        variables["lab_plan_placement"],
        variables["lab_plan_hosts"],
        variables["lab_plan_kids"],
        variables["lab_plan_redis_hashes"],
        variables["lab_plan_release"],
        variables["lab_plan_redis_server"],
    )
    return result


def _boundaries(variant: str) -> list[dict[str, Any]]:
    boundaries: list[dict[str, Any]] = copy.deepcopy(_load_yaml(REPO / "playbooks/vars/boundaries.yml"))[
        "galaxylab_boundaries"
    ]
    if variant == "one-absent":
        boundaries[-1]["state"] = "absent"
    if variant == "durable":
        for boundary in boundaries:
            boundary["redis"] = "durable"
    return boundaries


CALLS = [
    call
    for inventory in INVENTORIES
    for variant in ("as-is", "one-absent", "durable")
    for call in _calls(inventory, variant)
]


# ---------------------------------------------------------------------------
# validation


def _specs(role: str) -> dict[str, Any]:
    specs: dict[str, Any] = _load_yaml(ROLES_DIR / role / "meta/argument_specs.yml")["argument_specs"]
    return specs


def _validate(role: str, entry_point: str, variables: Mapping[str, Any]) -> list[str]:
    """ansible-core's role argument validation (the validate_argument_spec action), in-process."""
    options = _specs(role)[entry_point].get("options", {})
    provided = {name: copy.deepcopy(variables[name]) for name in options if name in variables}
    messages: list[str] = ArgumentSpecValidator(options).validate(provided).error_messages
    return messages


def test_the_playbooks_call_every_role() -> None:
    assert {call.role for call in CALLS} == set(ROLES)


@pytest.mark.parametrize("call", CALLS, ids=lambda c: f"{c.role}:{c.id}")
def test_what_the_playbooks_hand_a_role_passes_its_argument_spec(call: RoleCall) -> None:
    assert _specs(call.role).get(call.entry_point), f"{call.role} has no argument spec for {call.entry_point}"
    assert _validate(call.role, call.entry_point, call.variables) == []


def _first(role: str, *, where: Callable[[RoleCall], bool] = lambda _: True) -> RoleCall:
    return next(call for call in CALLS if call.role == role and call.entry_point == "main" and where(call))


def _mutated(call: RoleCall, name: str, change: Callable[[Any], None]) -> dict[str, Any]:
    variables = copy.deepcopy(call.variables)
    change(variables[name])
    return variables


# A wrong key in what a role receives fails validation with a message that names it.
FAULTS: list[tuple[str, str, Callable[[Any], None], str]] = [
    ("service_instance", "service_instance_groups", lambda v: v[0]["programs"][0].update(commnd="x"), "commnd"),
    ("service_instance", "service_instance_groups", lambda v: v[0]["programs"][0].pop("log"), "log"),
    ("service_instance", "service_instance_groups", lambda v: v[0]["programs"][0].update(priority="first"), "priority"),
    ("service_instance", "service_instance_groups", lambda v: v[0].pop("conf"), "conf"),
    ("redis_instance", "redis_instance_configs", lambda v: v[0].pop("port"), "port"),
    ("redis_instance", "redis_instance_configs", lambda v: v[0].update(paths=["/x"]), "paths"),
    ("redis_instance", "redis_instance_configs", lambda v: v[0].update(mode="persistent"), "mode"),
    ("redis_instance", "redis_instance_configs", lambda v: v[0].update(maxmemory="1gb"), "maxmemory"),
    ("lab_root", "lab_root_directories", lambda v: v[0].pop("mode"), "mode"),
    ("lab_root", "lab_root_files", lambda v: v[0].pop("content"), "content"),
    ("lab_root", "lab_root_files", lambda v: v[0].update(source="/x"), "source"),
    ("readiness", "readiness_checks", lambda v: v[0].update(timeout=3), "timeout"),
    ("process_manager", "process_manager_supervisor", lambda v: v.pop("pidfile"), "pidfile"),
    ("process_manager", "process_manager_supervisor", lambda v: v.pop("socket"), "socket"),
    ("artifact", "artifact_release", lambda v: v.pop("tarball"), "tarball"),
    ("manifest", "manifest_manifests", lambda v: v[0].pop("secrets"), "secrets"),
    ("manifest", "manifest_manifests", lambda v: v[0]["redis"].update(password="x"), "password"),
    ("lab_plan", "lab_plan_boundaries", lambda v: v[0].update(redis="persistent"), "redis"),
    ("manifest", "manifest_manifests", lambda v: v[0]["redis"].update(probe={"kind": "tcp", "url": "x"}), "kind"),
    ("lab_plan", "lab_plan_boundaries", lambda v: v[0].update(port="21100"), "port"),
]


@pytest.mark.parametrize(("role", "name", "change", "named"), FAULTS, ids=[f"{f[1]}-{f[3]}" for f in FAULTS])
def test_a_wrong_key_fails_the_spec_naming_it(role: str, name: str, change: Callable[[Any], None], named: str) -> None:
    call = _first(role, where=lambda c: c.variables.get(f"{role}_state", "present") == "present")
    messages = _validate(role, "main", _mutated(call, name, change))
    assert any(named in message for message in messages), messages


def test_a_required_input_left_out_fails_the_spec() -> None:
    call = _first("process_manager")
    variables = {key: value for key, value in call.variables.items() if key != "process_manager_supervisor"}
    assert any("process_manager_supervisor" in message for message in _validate("process_manager", "main", variables))


# ---------------------------------------------------------------------------
# hygiene of every role (STYLE.md "Ansible roles")


def _options(spec: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for name, option in (spec.get("options") or {}).items():
        yield f"{prefix}{name}", option
        yield from _options(option, f"{prefix}{name}.")


def _entry_options(role: str) -> dict[str, dict[str, Any]]:
    """Every top-level option over all entry points (they agree where they share one)."""
    return {name: option for entry in _specs(role).values() for name, option in (entry.get("options") or {}).items()}


@pytest.mark.parametrize("role", ROLES)
def test_every_entry_point_is_a_tasks_file(role: str) -> None:
    for entry_point in _specs(role):
        assert (ROLES_DIR / role / "tasks" / f"{entry_point}.yml").exists(), entry_point


@pytest.mark.parametrize("role", ROLES)
def test_every_option_and_nested_option_has_a_type_and_a_description(role: str) -> None:
    for entry_point, spec in _specs(role).items():
        for name, option in _options(spec):
            assert option.get("type"), f"{entry_point}: {name} has no type"
            assert option.get("description"), f"{entry_point}: {name} has no description"
            if option.get("options"):
                assert option["type"] == "dict" or option.get("elements") == "dict", name


@pytest.mark.parametrize("role", ROLES)
def test_inputs_and_defaults_are_prefixed_with_the_role_name(role: str) -> None:
    names = [*_entry_options(role), *_defaults(role)]
    assert [name for name in names if not name.startswith(f"{role}_")] == []


@pytest.mark.parametrize("role", ROLES)
def test_internal_variables_have_two_underscores_and_the_role_name(role: str) -> None:
    internal = _load_yaml(ROLES_DIR / role / "vars/main.yml") or {}
    assert [name for name in internal if not name.startswith(f"__{role}_")] == []


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_a_declared_input_with_the_same_default(role: str) -> None:
    options = _entry_options(role)
    for name, value in _defaults(role).items():
        assert name in options, f"{name} is a default but no entry point declares it"
        assert not options[name].get("required"), f"{name} is required: a default would make that meaningless"
        if "default" in options[name]:
            assert options[name]["default"] == value, name
        else:
            assert "{{" in str(value), f"{name}: the spec does not state the default {value!r}"


@pytest.mark.parametrize("role", ROLES)
def test_every_optional_input_has_a_default(role: str) -> None:
    defaults = _defaults(role)
    optional = [name for name, option in _entry_options(role).items() if not option.get("required")]
    assert [name for name in optional if name not in defaults] == []


@pytest.mark.parametrize("role", ROLES)
def test_every_default_has_its_own_comment_line(role: str) -> None:
    path = ROLES_DIR / role / "defaults/main.yml"
    lines = path.read_text().splitlines() if path.exists() else []
    for index, line in enumerate(lines):
        if re.match(r"^[a-z_]+:", line):
            assert lines[index - 1].startswith("# "), f"{line.split(':')[0]} has no comment line above it"


@pytest.mark.parametrize("role", ROLES)
def test_the_readme_documents_every_input_and_entry_point(role: str) -> None:
    readme = (ROLES_DIR / role / "README.md").read_text()
    for entry_point, spec in _specs(role).items():
        assert f"`{entry_point}`" in readme, f"entry point {entry_point}"
        for name, _ in _options(spec):
            assert f"`{name}`" in readme, f"input {name}"
