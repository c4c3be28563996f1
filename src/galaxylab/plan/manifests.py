"""A boundary's manifest (``galaxylab.manifest.Manifest``) from its resolved placement and wiring."""

from __future__ import annotations

import shlex

from galaxylab.manifest import Component, Host, Manifest, RedisInstance, Secrets
from galaxylab.plan import acl
from galaxylab.plan.catalog import REDIS
from galaxylab.plan.files import (
    CALLERS,
    OPERATOR_TOKEN,
    REDIS_USERS,
    SECRET_FILES,
    SERVICE_TOKENS,
    SIGNING_KEY,
    TLS_CA,
    TLS_KEY,
    TOKEN_KEYS,
    redis_password_file,
)
from galaxylab.plan.layout import Resolved, redis_config
from galaxylab.plan.wiring import environment, unprefixed


def build_manifest(res: Resolved, generated: dict[str, str]) -> Manifest:
    return Manifest(
        boundary=res.name,
        port_base=res.boundary.port_base,
        redis=_redis(res),
        components={c: _component(res, c, generated) for c in res.boundary.components},
        hosts={host.name: _host(res, host.name) for host in res.unique_hosts()},
        secrets=_secrets(res, generated["signing_kid"]),
    )


def _redis(res: Resolved) -> RedisInstance:
    config = redis_config(res)
    host = res.hosts[REDIS]
    return RedisInstance(
        url=res.redis_url(),
        mode=config["mode"],
        host=host.name,
        address=host.address,
        port=config["port"],
        program=config["program"],
        conf=config["conf"],
        dir=config["dir"],
        log=config["log"],
        probe=res.probe(REDIS),
        tls=res.tls,
        users={user: " ".join(rules) for user, rules in acl.rules(res.boundary.components, res.catalog).items()},
    )


def _component(res: Resolved, component: str, generated: dict[str, str]) -> Component:
    spec = res.catalog.spec(component)
    host = res.hosts[component]
    endpoint = res.endpoint(component)
    return Component(
        kind=component,
        host=host.name,
        address=host.address,
        program=res.program(component),
        protocol=spec.protocol,
        port=res.port(component),
        admin_port=res.port(component, admin=True),
        ports=res.listening_ports(component),
        endpoint=endpoint,
        url=res.url(component) if spec.protocol == "http" and "main" in spec.listens else None,
        tls=res.serves_tls(component),
        admin_url=res.admin_url(component),
        log=res.log(component),
        probe=res.probe(component),
        env_prefix=spec.env_prefix,
        settings=unprefixed(res, component, environment(res, component, generated)),
    )


def _host(res: Resolved, name: str) -> Host:
    host = next(h for h in res.unique_hosts() if h.name == name)
    return Host(
        testinfra=host.testinfra,
        supervisorctl=shlex.join(host.supervisorctl()),
        root=host.root,
        supervisor_conf=host.supervisor_conf(),
        program_conf=host.path("supervisor", "conf.d", f"{res.name}.conf"),
        owner=host.owner,
        group=host.group,
        writable=host.writable_dirs(),
    )


def _secrets(res: Resolved, kid: str) -> Secrets:
    holders = res.service_hosts() or [res.hosts[REDIS]]
    directory = holders[0].secrets_dir(res.name)
    return Secrets(
        dir=directory,
        host=holders[0].name,
        hosts=tuple(host.name for host in holders),
        service_tokens=f"{directory}/{SERVICE_TOKENS}",
        signing_key=f"{directory}/{SIGNING_KEY}",
        token_keys=f"{directory}/{TOKEN_KEYS}",
        signing_kid=kid,
        operator_token=f"{directory}/{OPERATOR_TOKEN}",
        caller_tokens={caller: f"{directory}/{caller}.token" for caller in CALLERS},
        redis_users={user: f"{directory}/{redis_password_file(user)}" for user in _redis_users(res)},
        tls_ca=f"{directory}/{TLS_CA}" if res.tls else None,
        # With TLS on, the host's private key is a secret too (the certificates are public).
        files=tuple(f"{directory}/{file}" for file in (*SECRET_FILES, *((TLS_KEY,) if res.tls else ()))),
    )


def _redis_users(res: Resolved) -> list[str]:
    """The boundary's Redis users that log in with a password (not ``default``, not the probe)."""
    return [user for user in acl.rules(res.boundary.components, res.catalog) if user in REDIS_USERS]
