"""A lab in this process: the HTTP services and doubles on free loopback ports, and the manifest that names them.

User, Auth/Session (wired to that User and Mail), Mail (stub provider) and both doubles, each over a
fakeredis server of its own, served by uvicorn from an event loop on a thread of its own (the fuzz
runner blocks while schemathesis calls them). The manifest and the secret files are written as the
lab's bring-up writes them, so ``galaxylab.fuzz`` reads them exactly as it reads a real lab's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import fakeredis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from galaxy.authsession.main import create_app as create_authsession
from galaxy.authsession.settings import Settings as AuthSessionSettings
from galaxy.common.serve import asgi_servers, bind
from galaxy.mail.main import create_app as create_mail
from galaxy.mail.settings import Settings as MailSettings
from galaxy.user.main import create_app as create_user
from galaxy.user.settings import Settings as UserSettings
from galaxylab.manifest import Component, Host, Manifest, Probe, RedisInstance, Secrets
from galaxylab.plan.files import CALLERS, OPERATOR_TOKEN, SERVICE_TOKENS, SIGNING_KEY, TOKEN_KEYS
from galaxylab.stubs.main import create_app as create_stub
from tests.harness.waits import until

HOST = "127.0.0.1"
BOUNDARY = "inprocess"
KID = "k-fuzz-1"
DEADLINE_SECONDS = 15.0
KINDS = ("user", "authsession", "mail", "user-stub", "mail-stub")
Rewrite = Callable[[Scope, int, bytes], tuple[int, bytes] | None]


class Plant:
    """An ASGI wrapper that, when armed, rewrites a response (status, body): the fault a test plants."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.rewrite: Rewrite | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rewrite = self.rewrite
        if scope["type"] != "http" or rewrite is None:
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            status, body = start["status"], b"".join(chunks)
            changed = rewrite(scope, status, body)
            if changed is not None:
                status, body = changed
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)


@dataclass
class InProcessLab:
    state_dir: Path
    plants: dict[str, Plant] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)


def _secrets(directory: Path) -> dict[str, Path]:
    directory.mkdir(mode=0o700, parents=True)
    tokens = {caller: f"{caller}-token-{index:04d}-fuzz" for index, caller in enumerate(CALLERS)}
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    files = {
        SERVICE_TOKENS: json.dumps(tokens),
        SIGNING_KEY: pem.decode(),
        TOKEN_KEYS: json.dumps({KID: public.decode()}),
        OPERATOR_TOKEN: "operator-token-fuzz-5e1\n",
        **{f"{caller}.token": token + "\n" for caller, token in tokens.items()},
    }
    paths = {}
    for name, content in files.items():
        (directory / name).write_text(content)
        paths[name] = directory / name
    return paths


def _apps(ports: dict[str, int], secrets: dict[str, Path]) -> dict[str, ASGIApp]:
    def redis() -> fakeredis.FakeAsyncRedis:
        return fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=True)

    tokens_file = secrets[SERVICE_TOKENS]
    tokens = json.loads(tokens_file.read_text())
    user = UserSettings(listen_host=HOST, port=ports["user"], admin_port=1, service_tokens_file=tokens_file)
    mail = MailSettings(
        port=ports["mail"],
        service_tokens_file=tokens_file,
        operator_token_file=secrets[OPERATOR_TOKEN],
        provider="stub",
        instance_name="mail-fuzz",
        poll_interval_seconds=0.05,
        stream_block_seconds=0.05,
        listen_host=HOST,
        admin_port=1,
    )
    authsession = AuthSessionSettings(
        port=ports["authsession"],
        service_tokens_file=tokens_file,
        user_url=f"http://{HOST}:{ports['user']}",
        user_token_file=secrets["authsession.token"],
        mail_url=f"http://{HOST}:{ports['mail']}",
        mail_token_file=secrets["authsession.token"],
        signing_key_file=secrets[SIGNING_KEY],
        signing_kid=KID,
        listen_host=HOST,
        admin_port=1,
    )
    return {
        "user": create_user(user, redis()),
        "authsession": create_authsession(authsession, redis()),
        "mail": create_mail(mail, redis()),
        "user-stub": create_stub("user", tokens),
        "mail-stub": create_stub("mail", tokens, secrets[OPERATOR_TOKEN].read_text().strip()),
    }


def _component(kind: str, port: int, root: Path) -> Component:
    url = f"http://{HOST}:{port}"
    return Component(
        kind=kind,
        host="controller",
        address=HOST,
        program=f"{BOUNDARY}-{kind}",
        protocol="http",
        port=port,
        admin_port=port,
        ports=(port,),
        endpoint=f"{HOST}:{port}",
        url=url,
        admin_url=url,
        log=str(root / f"{kind}.log"),
        probe=Probe(kind="http", url=f"{url}/healthz"),
        env_prefix="GALAXY_",
        settings={},
    )


def manifest(ports: dict[str, int], secrets: dict[str, Path], root: Path) -> Manifest:
    directory = str(secrets[SERVICE_TOKENS].parent)
    redis_url = f"redis://{HOST}:1"
    return Manifest(
        boundary=BOUNDARY,
        port_base=0,
        redis=RedisInstance(
            url=redis_url,
            mode="ephemeral",
            host="controller",
            address=HOST,
            port=1,
            program=f"{BOUNDARY}-redis",
            conf=str(root / "redis.conf"),
            dir=str(root),
            log=str(root / "redis.log"),
            probe=Probe(kind="redis", url=redis_url),
            users={},  # the services here run over fakeredis: no ACL
        ),
        components={kind: _component(kind, port, root) for kind, port in ports.items()},
        hosts={
            "controller": Host(
                testinfra="local://",
                supervisorctl="true",
                root=str(root),
                supervisor_conf=str(root / "supervisord.conf"),
                program_conf=str(root / "conf.d"),
                owner="root",
                group="root",
                writable=(),
            )
        },
        secrets=Secrets(
            redis_users={},
            dir=directory,
            host="controller",
            hosts=("controller",),
            service_tokens=str(secrets[SERVICE_TOKENS]),
            signing_key=str(secrets[SIGNING_KEY]),
            token_keys=str(secrets[TOKEN_KEYS]),
            signing_kid=KID,
            operator_token=str(secrets[OPERATOR_TOKEN]),
            caller_tokens={caller: str(secrets[f"{caller}.token"]) for caller in CALLERS},
            files=tuple(str(path) for path in secrets.values()),
        ),
    )


@contextlib.contextmanager
def running(root: Path) -> Iterator[InProcessLab]:
    """Every service and double listening on loopback until the block ends; their manifest in ``root``."""
    secrets = _secrets(root / "secrets" / BOUNDARY)
    with contextlib.ExitStack() as stack:
        sockets = {kind: stack.enter_context(bind(HOST, 0, kind)) for kind in KINDS}
        ports = {kind: int(sock.getsockname()[1]) for kind, sock in sockets.items()}
        lab = InProcessLab(root)
        lab.plants = {kind: Plant(app) for kind, app in _apps(ports, secrets).items()}
        lab.urls = {kind: f"http://{HOST}:{port}" for kind, port in ports.items()}
        (root / "manifests").mkdir()
        (root / "manifests" / f"{BOUNDARY}.json").write_text(manifest(ports, secrets, root).model_dump_json(indent=2))
        stack.enter_context(_serving([(lab.plants[kind], sockets[kind]) for kind in KINDS]))
        for url in lab.urls.values():
            until(partial(_accepts, url), within=DEADLINE_SECONDS, what=f"{url} accepting connections")
        yield lab


@contextlib.contextmanager
def _serving(apps: list[tuple[ASGIApp, socket.socket]]) -> Iterator[None]:
    """uvicorn serving ``apps`` from a loop on its own thread; stopped (gracefully) when the block ends."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    async def serve() -> None:
        async with asgi_servers(*apps):
            await stop.wait()

    def thread_main() -> None:
        try:
            loop.run_until_complete(serve())
        except BaseException as exc:
            failure.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=thread_main, name="in-process-lab", daemon=True)
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(DEADLINE_SECONDS)
    if thread.is_alive():
        raise RuntimeError("the in-process lab did not stop")
    if failure:
        raise RuntimeError("the in-process lab failed") from failure[0]


def _accepts(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False
