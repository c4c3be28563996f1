"""inventory/example-multihost brought up over SSH on namespace hosts, used across hosts, torn down.

In order (one session, no xdist): every component runs under its placed host's supervisord and
listens on that host's address; the manifest says so; a login through the gateway crosses the
hosts; a remote component is stopped and started through the harness over SSH; a second
bring-up changes nothing; teardown (``galaxylab down``) leaves nothing on any host.
"""

from __future__ import annotations

from typing import Any

import grpc
import httpx
import pytest
import redis
import redis.asyncio as aioredis

from galaxy_contracts.gateway import GatewayClient
from galaxylab import certificates
from tests.harness import redis as lab_redis
from tests.harness import secrets as lab_secrets
from tests.harness.keys import unique_email
from tests.harness.login_codes import MailStubCodes
from tests.harness.manifest import Manifest, Program
from tests.harness.processes import DOWN_STATES, ProcessControl
from tests.harness.rpc import failure
from tests.harness.stubs import StubControl
from tests.multihost.example import MultihostLab, boundary_data, components, example, placed_host

pytestmark = pytest.mark.multihost

REDIS = "redis"
CONTROLLER_PLAY = "Plan the lab on the controller"  # the first play of playbooks/up.yml
HOSTS = list(example()["hosts"])


def placed(component: str) -> str:
    return f"{component}@{placed_host(component)}"


def entry(manifest: Manifest, component: str) -> Program:
    return next(p for p in manifest.programs() if p.component == component)


def is_listening(host: Any, address: str, port: int) -> bool:
    """IPv4, or IPv4-mapped IPv6 (gRPC listens on a dual-stack socket bound to ::ffff:<address>)."""
    return bool(
        host.socket(f"tcp://{address}:{port}").is_listening
        or host.socket(f"tcp://::ffff:{address}:{port}").is_listening
    )


def gateway_client(manifest: Manifest, **options: Any) -> GatewayClient:
    """The gateway's client over TLS, verifying with the lab's CA (the example turns TLS on)."""
    return GatewayClient(manifest.endpoint("gateway"), root_certificates=lab_secrets.read_tls_ca(manifest), **options)


async def log_in(lab: MultihostLab, email: str) -> Any:
    """StartLogin at the gateway, the code from the mail stub's control API, ConfirmLogin: every hop over TLS,
    each client verifying the next host with the lab's CA."""
    manifest = lab.manifest()
    secrets = lab_secrets.read(manifest)
    async with (
        gateway_client(manifest) as gateway,
        StubControl(manifest.url("mail-stub"), secrets.service_token("lab"), verify=secrets.verify()) as stub,
    ):
        codes = MailStubCodes(stub)
        mailed_before = await codes.count(email)
        started = await gateway.start_login(email)
        code = await codes.nth(email, mailed_before)
        session = await gateway.confirm_login(started.challenge_id, code)
        account = await gateway.get_my_account(session.session_token)
        deliveries = await codes.deliveries(email)
    return session, account, deliveries


# --- placement -----------------------------------------------------------------------------------


def test_bring_up_ran_on_the_example_hosts_only(lab: MultihostLab) -> None:
    assert set(lab.bring_up.stats) == {"localhost", *HOSTS}
    # localhost is only the controller (planning), never a lab host: this machine's own lab is not touched.
    controller_plays = {task.play for task in lab.bring_up.tasks if task.host == "localhost"}
    assert controller_plays == {CONTROLLER_PLAY}


@pytest.mark.parametrize("component", components(), ids=placed)
def test_the_component_runs_under_its_hosts_supervisord_and_no_other(lab: MultihostLab, component: str) -> None:
    program = f"{boundary_data()['name']}-{component}"
    states = {host: lab.supervisor_states(host) for host in HOSTS}
    assert states[placed_host(component)].get(program) == "RUNNING", states[placed_host(component)]
    elsewhere = [host for host in HOSTS if host != placed_host(component) and program in states[host]]
    assert not elsewhere, f"{program} is also configured on {elsewhere}"


@pytest.mark.parametrize("component", components(), ids=placed)
def test_the_component_listens_on_its_hosts_address(lab: MultihostLab, component: str) -> None:
    program = entry(lab.manifest(), component)
    host = placed_host(component)
    address = lab.hosts.host(host).address
    assert program.address == address
    seen_from = lab.testinfra(host)  # ss inside that host's namespace, over SSH
    missing = [port for port in program.ports if not is_listening(seen_from, address, port)]
    assert not missing, f"{component} on {host}: nothing on {address}:{missing}"


def test_the_manifest_records_each_components_host_and_address(lab: MultihostLab) -> None:
    manifest = lab.manifest()
    recorded = {c: (entry(manifest, c).host, entry(manifest, c).address) for c in components()}
    expected = {c: (placed_host(c), lab.hosts.host(placed_host(c)).address) for c in components()}
    assert recorded == expected
    assert manifest.port_base == boundary_data()["port_base"] + example()["galaxylab_port_offset"]
    assert sorted(manifest.hosts) == sorted(HOSTS)
    for name, host in manifest.hosts.items():
        ssh = lab.hosts.host(name)
        assert host.testinfra.startswith(f"ssh://root@{ssh.address}:{ssh.ssh_port}?"), host.testinfra
        assert host.root == ssh.root


def test_the_wiring_points_each_caller_at_the_other_hosts(lab: MultihostLab) -> None:
    manifest = lab.manifest()
    gateway = manifest.component("gateway").settings
    authsession = manifest.component("authsession").settings
    assert gateway["AUTHSESSION_URL"] == manifest.url("authsession")
    assert gateway["USER_URL"] == authsession["USER_URL"] == manifest.url("user")
    assert authsession["MAIL_URL"] == manifest.url("mail-stub")
    assert gateway["REDIS_URL"] == authsession["REDIS_URL"] == manifest.redis.url


# --- across hosts ----------------------------------------------------------------------------------


async def test_a_login_through_the_gateway_reaches_authsession_and_user_on_their_hosts(lab: MultihostLab) -> None:
    email = unique_email("multihost")

    session, account, deliveries = await log_in(lab, email)

    assert session.new_account  # authsession (lab-a) resolved a new account at user (lab-c)
    assert (account.user_id, account.email) == (session.user_id, email)  # gateway (lab-b) -> user (lab-c)
    assert [d.caller for d in deliveries] == ["authsession"]  # authsession (lab-a) -> mail stub (lab-c)


async def test_a_component_on_a_remote_host_is_stopped_and_started_over_ssh(lab: MultihostLab) -> None:
    manifest = lab.manifest()
    control = ProcessControl(manifest)
    email = unique_email("multihost-down")

    with control.stopped("authsession"):
        assert control.state("authsession") in DOWN_STATES
        assert lab.supervisor_states(placed_host("authsession"))[manifest.component("authsession").program] in (
            DOWN_STATES
        )
        async with gateway_client(manifest) as gateway:
            error = await failure(gateway.start_login(email))
        assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()

    assert control.state("authsession") == "RUNNING"
    session, _, _ = await log_in(lab, email)
    assert session.new_account


# --- TLS: every listener another host reaches ------------------------------------------------------------

# HTTP main ports of the example's components (the gateway's is gRPC); every one speaks TLS.
HTTP_PORTS = [c for c in boundary_data()["components"] if c != "gateway"]


def test_every_link_and_listener_of_the_example_is_tls(lab: MultihostLab) -> None:
    manifest = lab.manifest()
    assert manifest.redis.tls
    assert manifest.redis.url.startswith("rediss://")
    assert {name: c.tls for name, c in manifest.components.items()} == dict.fromkeys(manifest.components, True)
    links = [v for c in manifest.components.values() for k, v in c.settings.items() if k.endswith(("_URL",))]
    assert links
    assert all(v.startswith(("https://", "rediss://")) for v in links), links
    assert manifest.secrets.tls_ca is not None


@pytest.mark.parametrize("component", HTTP_PORTS, ids=placed)
async def test_plain_http_to_a_tls_port_gets_no_answer(lab: MultihostLab, component: str) -> None:
    entry = lab.manifest().component(component)
    async with httpx.AsyncClient(timeout=5) as client:
        with pytest.raises(httpx.TransportError):
            await client.get(f"http://{entry.endpoint}/healthz")


@pytest.mark.parametrize("component", HTTP_PORTS, ids=placed)
async def test_https_verified_with_the_labs_ca_is_answered(lab: MultihostLab, component: str) -> None:
    manifest = lab.manifest()
    async with httpx.AsyncClient(timeout=5, verify=lab_secrets.read(manifest).verify()) as client:
        response = await client.get(f"{manifest.url(component)}/v1/nothing-here")
    assert response.status_code in (401, 404), response.text  # answered by the service, over TLS


@pytest.mark.parametrize("component", HTTP_PORTS, ids=placed)
async def test_a_server_is_refused_by_a_client_trusting_another_ca(lab: MultihostLab, component: str) -> None:
    async with httpx.AsyncClient(timeout=5, verify=lab_secrets.tls_context(other_ca())) as client:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(f"{lab.manifest().url(component)}/v1/nothing-here")


async def test_a_plain_text_grpc_channel_to_the_gateway_is_refused(lab: MultihostLab) -> None:
    async with GatewayClient(lab.manifest().endpoint("gateway"), timeout=5) as gateway:
        error = await failure(gateway.start_login(unique_email("multihost-plain")))
    assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()


async def test_a_grpc_channel_trusting_another_ca_is_refused(lab: MultihostLab) -> None:
    endpoint = lab.manifest().endpoint("gateway")
    async with GatewayClient(endpoint, timeout=5, root_certificates=other_ca()) as gateway:
        error = await failure(gateway.start_login(unique_email("multihost-other-ca")))
    assert error.code() == grpc.StatusCode.UNAVAILABLE, error.details()


async def test_plain_text_redis_is_refused_and_tls_verified_with_the_labs_ca_is_served(lab: MultihostLab) -> None:
    manifest = lab.manifest()
    plain_url = "redis://" + manifest.redis.url.removeprefix("rediss://")
    plain = aioredis.Redis.from_url(plain_url, socket_connect_timeout=5, socket_timeout=5, driver_info=None)
    try:
        with pytest.raises(redis.ConnectionError):
            await plain.ping()
    finally:
        await plain.aclose()
    harness = lab_redis.client(manifest)
    try:
        assert await harness.ping()
    finally:
        await harness.aclose()


async def test_redis_is_refused_by_a_client_trusting_another_ca(lab: MultihostLab) -> None:
    manifest = lab.manifest()
    client = aioredis.Redis.from_url(
        manifest.redis.url, socket_connect_timeout=5, driver_info=None, ssl_ca_data=other_ca().decode()
    )
    try:
        with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.ping()
    finally:
        await client.aclose()


def other_ca() -> bytes:
    """A CA that is not the lab's (what a client that verifies must refuse a server by)."""
    return certificates.new_ca("not the lab").cert


def test_bring_up_again_changes_nothing(lab: MultihostLab) -> None:
    report = lab.playbook("playbooks/up.yml")

    assert report.returncode == 0, report.output[-3000:]
    assert not report.changed, [task.describe() for task in report.changed]


# --- teardown (last) -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torn_down(lab: MultihostLab) -> dict[str, Any]:
    before = lab.manifest()
    return {"manifest": before, "result": lab.down()}


def test_teardown_succeeds_and_the_cli_finds_nothing_left(torn_down: dict[str, Any]) -> None:
    result = torn_down["result"]
    assert result.code == 0, result.explain()
    assert result.document["left"] == [], result.document["left"]


@pytest.mark.parametrize("component", components(), ids=placed)
def test_no_port_of_the_component_is_left_listening(
    lab: MultihostLab, torn_down: dict[str, Any], component: str
) -> None:
    program = entry(torn_down["manifest"], component)
    host = lab.testinfra(placed_host(component))
    assert not [port for port in program.ports if is_listening(host, program.address, port)]


@pytest.mark.parametrize("host_name", HOSTS)
def test_nothing_of_the_lab_is_left_on_the_host(lab: MultihostLab, torn_down: dict[str, Any], host_name: str) -> None:
    root = torn_down["manifest"].hosts[host_name].root
    host = lab.testinfra(host_name)
    assert not host.file(root).exists, f"{host_name}:{root} still exists"
    processes = host.run("ps -eww -o pid=,args=").stdout.splitlines()
    assert not [line for line in processes if root + "/" in line]
    cwds = host.run("find /proc -maxdepth 2 -name cwd -printf '%l\\n'").stdout.splitlines()
    assert not [cwd for cwd in cwds if cwd == root or cwd.startswith(root + "/")]
    # The namespace is the host's network: only its sshd (and our SSH sessions) may still run there.
    assert set(lab.hosts.leftover_processes(host_name).values()) <= {"sshd"}


def test_the_controller_forgot_the_lab(lab: MultihostLab, torn_down: dict[str, Any]) -> None:
    assert not (lab.state_dir / "manifests").exists()
    assert not (lab.state_dir / "secrets").exists()
