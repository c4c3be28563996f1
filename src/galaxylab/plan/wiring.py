"""A component's environment, from its catalog entry: ports, Redis, secret files, generated values,
links to the boundary's other components, lab settings, then the boundary's overrides.

Generic over kinds: nothing here names a service (docs/conventions.md "Programs and their settings").
"""

from __future__ import annotations

from galaxylab.plan.acl import user_of
from galaxylab.plan.catalog import Link
from galaxylab.plan.files import TLS_CA, TLS_CERT, TLS_KEY, redis_password_file
from galaxylab.plan.inputs import PlanError
from galaxylab.plan.layout import Resolved

RELEASE_ENV = "GALAXYLAB_RELEASE"


def environment(res: Resolved, component: str, generated: dict[str, str]) -> dict[str, str]:
    """The program's environment with its prefix (what supervisord gets, without the release id).

    ``generated`` holds the per-lab values a catalog entry may ask for (``signing_kid``).
    """
    spec = res.catalog.spec(component)
    host = res.hosts[component]
    env: dict[str, str] = {"LISTEN_HOST": host.address}
    if "main" in spec.listens:
        env["PORT"] = str(res.port(component))
    if "admin" in spec.listens:
        env[spec.admin_setting] = str(res.port(component, admin=True))
    secrets = host.secrets_dir(res.name)
    if spec.redis is not None:
        user = user_of(component, spec.redis)
        env["REDIS_URL"] = res.redis_url()
        env["REDIS_USERNAME"] = user
        env["REDIS_PASSWORD_FILE"] = f"{secrets}/{redis_password_file(user)}"
    if res.tls:
        # The lab's CA for every client (HTTP downstreams, Redis); the host's certificate for a TLS main port.
        env["TLS_CA_FILE"] = f"{secrets}/{TLS_CA}"
        if res.serves_tls(component):
            env |= {"TLS_CERT_FILE": f"{secrets}/{TLS_CERT}", "TLS_KEY_FILE": f"{secrets}/{TLS_KEY}"}
    env |= {setting: f"{secrets}/{file}" for setting, file in spec.secrets.items()}
    env |= {setting: generated[value] for setting, value in spec.generated.items()}
    for setting, link in spec.links.items():
        value = _link(res, component, setting, link)
        if value is not None:
            env[setting] = value
    env |= spec.settings
    env |= res.boundary.settings.get(component, {})
    return {f"{spec.env_prefix}{key}": value for key, value in env.items()}


def unprefixed(res: Resolved, component: str, env: dict[str, str]) -> dict[str, str]:
    prefix = res.catalog.spec(component).env_prefix
    return {key.removeprefix(prefix): value for key, value in sorted(env.items())}


def _link(res: Resolved, consumer: str, setting: str, link: Link) -> str | None:
    target = res.first_of(link.to)
    if target is not None:
        return _form(res, target, link.form)
    if link.missing == "omit":
        return None
    if link.missing == "unreachable":
        # The first kind's port on the consumer's own host, where nothing of the boundary listens.
        return _form(res, link.to[0], link.form, on=consumer)
    wanted = " or ".join(link.to)
    raise PlanError(f"boundary {res.name}: {consumer} needs {wanted} in its components (for {setting})")


def _form(res: Resolved, target: str, form: str, on: str | None = None) -> str:
    host = res.hosts[on or target]
    port = res.port(target)
    if form == "tls":
        return "true" if res.serves_tls(target) else "false"
    if form == "address":
        return host.address
    if form == "port":
        return str(port)
    endpoint = f"{host.address}:{port}"
    if form == "endpoint":
        return endpoint
    return f"https://{endpoint}" if res.serves_tls(target) else f"http://{endpoint}"
