"""Lab hosts made of Linux network namespaces, each with its own sshd (tests/multihost).

Each host is a network namespace (``ip netns``) joined by a veth pair to a bridge of this
run, with a private address in a /24 that no interface or route of the machine uses. The
controller (this process and Ansible) reaches the hosts through the bridge; the hosts get no
default route, so their traffic stays between these namespaces and the bridge. Every host
runs its own sshd (own config, host key, port, pid file and log) that accepts only the key
generated for the run, as root.

The namespaces share the machine's filesystem and process table: each host gets its own
``galaxylab_root`` (under one directory per run), so no two hosts share a file of the lab.

Everything is registered for teardown the moment it exists (an ``ExitStack``), so a failure
anywhere, also half-way through building, removes what was made: the processes in the
namespaces (by PID: the sshds first, then whatever still runs in a namespace), the
namespaces, veths and bridge, the lab roots and the run directory.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.harness.waits import until

SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "ssh-keygen"
# sshd refuses to start without its privilege separation directory (Debian's init script creates it).
PRIVSEP_DIR = Path("/run/sshd")
# Candidate networks for the bridge; the first one the machine does not use is taken.
SUBNETS = ("10.213.47.0/24", "10.147.93.0/24", "10.91.206.0/24", "192.168.213.0/24")
BRIDGE_HOST = 1  # the controller's address on the bridge: .1
FIRST_HOST = 11  # hosts: .11, .12, ...
SSH_PORT_BASE = 22010  # host n listens on 22011, 22012, ... (not the lab's ports)
# Held while a run picks its network or touches /run/sshd: an abstract Unix socket, so no file is left.
LOCK = "\0galaxylab-multihost-lock"
RUN_PREFIX = "galaxylab-mh-"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0


class NetnsError(RuntimeError):
    """Building a namespace host failed; the message has the command's output."""


@dataclass
class NetnsHost:
    name: str  # the inventory host name
    namespace: str
    veth: str
    address: str
    ssh_port: int
    root: str  # galaxylab_root of this host
    directory: Path  # sshd's config, host key, pid file and log
    sshd: subprocess.Popen[bytes] | None = None


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        output = result.stderr.strip() or result.stdout.strip()
        raise NetnsError(f"{' '.join(argv)} exited {result.returncode}: {output}")
    return result


def used_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network the machine has an address in or a route to (the default route excepted)."""
    networks = []
    for entry in json.loads(run("ip", "-j", "-4", "addr").stdout):
        for info in entry.get("addr_info", []):
            networks.append(ipaddress.IPv4Network(f"{info['local']}/{info['prefixlen']}", strict=False))
    for route in json.loads(run("ip", "-j", "-4", "route", "show", "table", "all").stdout):
        destination = route.get("dst", "default")
        if destination != "default" and route.get("type", "unicast") not in ("local", "broadcast"):
            networks.append(ipaddress.IPv4Network(destination, strict=False))
    return networks


def free_subnet() -> ipaddress.IPv4Network:
    used = used_networks()
    for candidate in map(ipaddress.IPv4Network, SUBNETS):
        if not any(candidate.overlaps(network) for network in used):
            return candidate
    raise NetnsError(f"every candidate network is in use on this machine: {', '.join(SUBNETS)}")


def namespace_pids(namespace: str) -> list[int]:
    result = run("ip", "netns", "pids", namespace, check=False)
    return [int(pid) for pid in result.stdout.split()] if result.returncode == 0 else []


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def signal_pids(pids: Sequence[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


@contextlib.contextmanager
def machine_lock(timeout: float = 60.0) -> Iterator[None]:
    """Held by one run at a time for a short critical section (released when the process ends, whatever happens)."""
    lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)

    def acquired() -> bool:
        try:
            lock.bind(LOCK)
        except OSError:
            return False
        return True

    try:
        until(acquired, within=timeout, what="the multihost machine lock", interval=0.1)
        yield
    finally:
        lock.close()


def tcp_open(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


class NetnsLab:
    """Namespace hosts named ``names`` with their sshds; a context manager that always cleans up."""

    def __init__(self, names: Sequence[str], *, roots_parent: Path, run_parent: Path = Path("/run")) -> None:
        self._names = list(names)
        self._roots_parent = roots_parent
        self._run_parent = run_parent
        self._stack = contextlib.ExitStack()
        self.hosts: dict[str, NetnsHost] = {}
        self.run_dir = Path()
        self.tag = ""
        self.bridge = ""
        self.subnet: ipaddress.IPv4Network | None = None

    # --- what the inventory and the tests use ---------------------------------

    @property
    def key(self) -> Path:
        """The run's private key (the only key every sshd accepts)."""
        return self.run_dir / "id_ed25519"

    @property
    def ssh_config(self) -> Path:
        """ssh_config for Ansible and testinfra: the run's key, its known host keys, strict checking."""
        return self.run_dir / "ssh_config"

    @property
    def known_hosts(self) -> Path:
        return self.run_dir / "known_hosts"

    @property
    def control_dir(self) -> Path:
        """SSH control sockets of the run: Ansible's (ANSIBLE_SSH_CONTROL_PATH_DIR) and testinfra's."""
        return self.run_dir / "cp"

    @property
    def roots_dir(self) -> Path:
        return self._roots_parent / self.tag

    def host(self, name: str) -> NetnsHost:
        return self.hosts[name]

    @contextlib.contextmanager
    def cut_off(self, name: str) -> Iterator[NetnsHost]:
        """A network partition: the host's link to the bridge is down for the block (its own processes keep
        running and keep talking among themselves on its address; every packet to or from another host or the
        controller is dropped without an answer, as on a pulled cable). Always up again on leaving."""
        host = self.hosts[name]
        self.set_link(name, up=False)
        try:
            yield host
        finally:
            self.set_link(name, up=True)

    def set_link(self, name: str, *, up: bool) -> None:
        """The bridge side of the host's veth down (the namespace's eth0 loses its carrier) or up again."""
        run("ip", "link", "set", self.hosts[name].veth, "up" if up else "down")

    def link_is_up(self, name: str) -> bool:
        """The host's eth0, seen inside its namespace, has its carrier (both ends of the veth up)."""
        result = run("ip", "-n", self.hosts[name].namespace, "-j", "link", "show", "eth0")
        (link,) = json.loads(result.stdout)
        return "LOWER_UP" in link.get("flags", [])

    # --- building ------------------------------------------------------------

    def __enter__(self) -> NetnsLab:
        try:
            self._build()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _build(self) -> None:
        self.run_dir = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=self._run_parent))
        self._stack.callback(shutil.rmtree, self.run_dir, ignore_errors=True)
        self.tag = self.run_dir.name.removeprefix(RUN_PREFIX).lower()
        self._make_roots_dir()
        self.control_dir.mkdir(mode=0o700)
        self._generate_keys()
        with machine_lock():
            # Two runs at once must not pick the same network, nor remove /run/sshd under the other.
            self._make_privsep_dir()
            self.subnet = free_subnet()
            self._add_bridge()
        for index, name in enumerate(self._names):
            self._add_host(index, name)
        self._write_client_config()
        for host in self.hosts.values():
            self._start_sshd(host)
        for host in self.hosts.values():
            self._wait_for_sshd(host)
        # Registered last, so it runs first: the SSH connections end before their sshds.
        self._stack.callback(self._close_control_masters)

    def _make_roots_dir(self) -> None:
        parent_existed = self._roots_parent.exists()
        self.roots_dir.mkdir(parents=True, mode=0o755)
        if not parent_existed:
            # rmdir, not rmtree: another run may be using the parent by then.
            self._stack.callback(self._rmdir_quietly, self._roots_parent)
        self._stack.callback(shutil.rmtree, self.roots_dir, ignore_errors=True)

    def _make_privsep_dir(self) -> None:
        if PRIVSEP_DIR.exists():
            return
        PRIVSEP_DIR.mkdir(mode=0o755)
        self._stack.callback(self._remove_privsep_dir)

    def _remove_privsep_dir(self) -> None:
        """Created by this run: removed unless another run (whose sshds need it) is under way."""
        with machine_lock():
            others = [p for p in self._run_parent.glob(f"{RUN_PREFIX}*") if p != self.run_dir]
            if not others:
                self._rmdir_quietly(PRIVSEP_DIR)

    @staticmethod
    def _rmdir_quietly(path: Path) -> None:
        with contextlib.suppress(OSError):
            path.rmdir()

    def _generate_keys(self) -> None:
        run(SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", f"galaxylab-multihost-{self.tag}", "-f", str(self.key))
        authorized = self.run_dir / "authorized_keys"
        authorized.write_text(Path(f"{self.key}.pub").read_text())
        authorized.chmod(0o600)

    def _add_bridge(self) -> None:
        assert self.subnet is not None
        self.bridge = f"glmh{self.tag[:6]}"
        run("ip", "link", "add", "name", self.bridge, "type", "bridge", "forward_delay", "0")
        self._stack.callback(self._delete_link, self.bridge)
        address = self.subnet.network_address + BRIDGE_HOST
        run("ip", "addr", "add", f"{address}/{self.subnet.prefixlen}", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")

    @staticmethod
    def _delete_link(name: str) -> None:
        if run("ip", "link", "show", name, check=False).returncode == 0:
            run("ip", "link", "del", name, check=False)

    def _add_host(self, index: int, name: str) -> None:
        assert self.subnet is not None
        address = str(self.subnet.network_address + FIRST_HOST + index)
        directory = self.run_dir / name
        directory.mkdir(mode=0o700)
        host = NetnsHost(
            name=name,
            namespace=f"galaxylab-mh-{self.tag}-{name}",
            veth=f"glmh{self.tag[:6]}{index}",
            address=address,
            ssh_port=SSH_PORT_BASE + 1 + index,
            root=str(self.roots_dir / name),
            directory=directory,
        )
        self.hosts[name] = host
        run("ip", "netns", "add", host.namespace)
        self._stack.callback(run, "ip", "netns", "del", host.namespace, check=False)
        # Registered after the namespace, so it runs before the namespace is deleted.
        self._stack.callback(self._stop_namespace, host)
        run("ip", "-n", host.namespace, "link", "set", "lo", "up")
        run("ip", "link", "add", host.veth, "type", "veth", "peer", "name", "eth0", "netns", host.namespace)
        self._stack.callback(self._delete_link, host.veth)
        run("ip", "link", "set", host.veth, "master", self.bridge, "up")
        run("ip", "-n", host.namespace, "addr", "add", f"{address}/{self.subnet.prefixlen}", "dev", "eth0")
        run("ip", "-n", host.namespace, "link", "set", "eth0", "up")
        run(SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(directory / "ssh_host_ed25519_key"))
        (directory / "sshd_config").write_text(self._sshd_config(host))

    def _sshd_config(self, host: NetnsHost) -> str:
        return "\n".join(
            [
                f"# sshd of namespace host {host.name} (tests/multihost); only the run's key, as root.",
                f"Port {host.ssh_port}",
                f"ListenAddress {host.address}",
                f"HostKey {host.directory / 'ssh_host_ed25519_key'}",
                f"PidFile {host.directory / 'sshd.pid'}",
                f"AuthorizedKeysFile {self.run_dir / 'authorized_keys'}",
                "AllowUsers root",
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes yes",
                "AllowAgentForwarding no",
                "AllowTcpForwarding no",
                "X11Forwarding no",
                "PermitTunnel no",
                "PrintMotd no",
                # Ansible runs several tasks at once on one host over one multiplexed connection.
                "MaxSessions 30",
                "MaxStartups 30:30:60",
                "Subsystem sftp internal-sftp",
                "",
            ]
        )

    def _write_client_config(self) -> None:
        lines = []
        for host in self.hosts.values():
            public = (host.directory / "ssh_host_ed25519_key.pub").read_text().split()[:2]
            lines.append(f"[{host.address}]:{host.ssh_port} {' '.join(public)}")
        self.known_hosts.write_text("\n".join(lines) + "\n")
        addresses = " ".join(host.address for host in self.hosts.values())
        self.ssh_config.write_text(
            "\n".join(
                [
                    "# Client settings for the namespace hosts of this run (tests/multihost).",
                    f"Host {addresses}",
                    "  User root",
                    f"  IdentityFile {self.key}",
                    "  IdentitiesOnly yes",
                    f"  UserKnownHostsFile {self.known_hosts}",
                    "  GlobalKnownHostsFile /dev/null",
                    "  StrictHostKeyChecking yes",
                    "  BatchMode yes",
                    "  ConnectTimeout 10",
                    # testinfra asks for ControlMaster=auto but names no socket: one connection per host
                    # instead of one per command. (Ansible passes its own ControlPath, in the same dir.)
                    f"  ControlPath {self.control_dir}/%C",
                    "",
                ]
            )
        )

    def _start_sshd(self, host: NetnsHost) -> None:
        config = host.directory / "sshd_config"
        run("ip", "netns", "exec", host.namespace, SSHD, "-t", "-f", str(config))
        log = host.directory / "sshd.log"
        # ip netns exec execs sshd: the child's PID is sshd's.
        host.sshd = subprocess.Popen(
            ["ip", "netns", "exec", host.namespace, SSHD, "-D", "-f", str(config), "-E", str(log)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._stack.callback(self._stop_sshd, host)

    def _wait_for_sshd(self, host: NetnsHost) -> None:
        assert host.sshd is not None
        sshd = host.sshd

        def listening() -> bool:
            if sshd.poll() is not None:
                log = (host.directory / "sshd.log").read_text(errors="replace")
                raise NetnsError(f"sshd of {host.name} exited {sshd.returncode}: {log[-2000:]}")
            return tcp_open(host.address, host.ssh_port)

        until(listening, within=START_TIMEOUT, what=f"sshd of {host.name} on {host.address}:{host.ssh_port}")

    # --- teardown ------------------------------------------------------------

    def _close_control_masters(self) -> None:
        """End the SSH control masters left in control_dir (ControlPersist keeps them otherwise)."""
        for path in self.control_dir.iterdir():
            run("ssh", "-o", f"ControlPath={path}", "-O", "exit", "galaxylab-multihost", check=False)
        with contextlib.suppress(AssertionError):
            until(lambda: not any(self.control_dir.iterdir()), within=STOP_TIMEOUT, what="SSH control masters gone")

    @staticmethod
    def _stop_sshd(host: NetnsHost) -> None:
        if host.sshd is None or host.sshd.poll() is not None:
            return
        host.sshd.terminate()
        try:
            host.sshd.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            host.sshd.kill()
            host.sshd.wait(timeout=STOP_TIMEOUT)

    @staticmethod
    def _stop_namespace(host: NetnsHost) -> None:
        """Whatever still runs in the host's namespace (SSH sessions, a supervisord a failed run left):
        all started by this run, since nothing else enters the namespace. TERM, then KILL."""
        for signum in (signal.SIGTERM, signal.SIGKILL):
            pids = namespace_pids(host.namespace)
            if not pids:
                return
            signal_pids(pids, signum)
            with contextlib.suppress(AssertionError):
                until(
                    lambda: not namespace_pids(host.namespace),
                    within=STOP_TIMEOUT,
                    what=f"processes of {host.namespace} gone",
                )

    def leftover_processes(self, name: str) -> dict[int, str]:
        """``{pid: name}`` of the processes in a host's namespace."""
        return {pid: process_name(pid) for pid in namespace_pids(self.hosts[name].namespace)}
