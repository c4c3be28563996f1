"""Manifests for in-process tests of the harness: the real model, with whatever ports a test's own servers use."""

from __future__ import annotations

from galaxylab.manifest import Component, Host, Manifest, Probe, RedisInstance, Secrets


def manifest_for(
    boundary: str, *, root: str, redis_port: int, components: dict[str, int], supervisorctl: str = "supervisorctl"
) -> Manifest:
    """A one-host (``localhost``, 127.0.0.1) manifest; each component serves HTTP and /healthz on its one port."""
    return Manifest(
        boundary=boundary,
        port_base=redis_port,
        redis=RedisInstance(
            url=f"redis://127.0.0.1:{redis_port}/0",
            mode="ephemeral",
            host="localhost",
            address="127.0.0.1",
            port=redis_port,
            program=f"{boundary}-redis",
            conf=f"{root}/redis.conf",
            dir=root,
            log=f"{root}/redis.log",
            probe=Probe(kind="redis", url=f"redis://127.0.0.1:{redis_port}"),
            users={},  # the tests' redis-server runs without an ACL
        ),
        components={name: _component(boundary, name, port, root) for name, port in components.items()},
        hosts={
            "localhost": Host(
                testinfra="local://",
                supervisorctl=supervisorctl,
                root=root,
                supervisor_conf=f"{root}/supervisord.conf",
                program_conf=f"{root}/{boundary}.conf",
                owner="root",
                group="root",
                writable=(),
            )
        },
        secrets=Secrets(
            dir=root,
            host="localhost",
            hosts=("localhost",),
            service_tokens=f"{root}/service-tokens.json",
            signing_key=f"{root}/signing-key.pem",
            token_keys=f"{root}/token-keys.json",
            signing_kid="kid",
            operator_token=f"{root}/operator.token",
            caller_tokens={"lab": f"{root}/lab.token"},
            redis_users={},
            files=(f"{root}/service-tokens.json",),
        ),
    )


def _component(boundary: str, name: str, port: int, root: str) -> Component:
    url = f"http://127.0.0.1:{port}"
    return Component(
        kind=name,
        host="localhost",
        address="127.0.0.1",
        program=f"{boundary}-{name}",
        protocol="http",
        port=port,
        admin_port=port,
        ports=(port,),
        endpoint=f"127.0.0.1:{port}",
        url=url,
        admin_url=url,
        log=f"{root}/{name}.log",
        probe=Probe(kind="http", url=f"{url}/healthz"),
        env_prefix=f"TEST_{name.upper()}_",
        settings={},
    )
