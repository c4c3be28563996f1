"""A full disk under the boundary's durable Redis: no write acknowledged that was not stored, none unclean.

The Redis is stopped through the host's process manager, its data dir is covered by a small tmpfs holding a
copy of its files and a little room (``SmallDisk``), and it is started again. Direct sends to Mail then fill
that room. With ``appendfsync always`` Redis answers no write it could not append (it exits instead, and the
process manager restarts it on the same full disk), so every ``POST /v1/deliveries`` must end one of two ways:
accepted (2xx) and stored, which the test proves after the disk is freed (the delivery is in Redis and is sent
through the SMTP sink), or refused with a clear ``503`` problem (``upstream_unavailable``, what
contracts/http/mail.openapi.yaml lists). Never a 500, another status, an answer past the client's timeout, or a
Mail process that died. Then the disk is freed (Redis stopped, the tmpfs's files copied back over its data dir,
unmounted, started) and a new delivery is accepted and sent.

Only where the Redis runs on this machine (mounting is local) and as root; skipped otherwise, with the reason.
The fixture restores the data dir however the test ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import testinfra

from tests.harness.clients import LAB_CALLER
from tests.harness.keys import EMAIL_DOMAIN
from tests.harness.manifest import Manifest
from tests.harness.processes import REDIS, ProcessControl
from tests.harness.secrets import LabSecrets
from tests.harness.sink import SmtpSink
from tests.harness.tally import tell
from tests.harness.waits import eventually_async

pytestmark = pytest.mark.disruptive

MAIL = "mail"
TEMPLATE = "auth.login_code"
PARAMS = {"code": "424242", "expires_in_minutes": 10}
PROBLEM = "application/problem+json"
REFUSED = (503, "upstream_unavailable")
# Room left on the small disk when Redis starts on it: a few hundred deliveries (each is appended with its
# rendered bodies, then again as it is attempted).
ROOM = 256 * 1024
CONCURRENCY = 4
# Enough refusals to have seen the disk full more than once (Redis restarted on it in between).
REFUSALS = 20
AFTER_FULL = 60  # writes sent with no room left: the disk is full, whatever Mail answered
PAGE = 4096  # less free than one page of the tmpfs: no room left
MAX_WRITES = 5000
FILL_TIMEOUT = 120.0
CLIENT_TIMEOUT = 15.0  # far above Mail's Redis timeouts (2 s per command, a few retries): more is a hang
# Every accepted delivery is sent within Mail's lifetime of it (90 s in this boundary); bounded above that.
SENT_WITHIN = 120.0
STATUS_PAGE = 200
NOT_RECOVERED = "not recovered"


@dataclass
class SmallDisk:
    """A tmpfs of ``room`` free bytes over Redis's data dir, holding a copy of its files; ``restore`` puts
    what Redis wrote there back into the real dir and unmounts it."""

    host: Any  # testinfra's host of the Redis (local)
    data_dir: str
    room: int
    aside: str = ""
    mounted: bool = False
    restored: bool = False

    def mount(self) -> None:
        mode, uid, gid = self._run("stat -c '%%a %%u %%g' %s", self.data_dir).split()
        used = int(self._run("du -s --block-size=1 %s", self.data_dir).split()[0])
        self.aside = self._run("mktemp -d").strip()
        self._run("cp -a %s/. %s/", self.data_dir, self.aside)
        options = f"size={used + self.room},mode={mode},uid={uid},gid={gid}"
        self._run("mount -t tmpfs -o %s galaxylab-full-disk %s", options, self.data_dir)
        self.mounted = True
        self._run("cp -a %s/. %s/", self.aside, self.data_dir)

    def free_bytes(self) -> int:
        return int(self._run("df --output=avail --block-size=1 %s", self.data_dir).split()[-1])

    def restore(self) -> None:
        """Redis must be stopped. What it wrote on the tmpfs replaces its files in the real dir."""
        if self.restored:
            return
        self.restored = True
        if self.mounted:
            written = self._run("mktemp -d").strip()
            try:
                self._run("cp -a %s/. %s/", self.data_dir, written)
                self._run("umount %s", self.data_dir)
                self.mounted = False
                self._run("find %s -mindepth 1 -delete", self.data_dir)
                self._run("cp -a %s/. %s/", written, self.data_dir)
            finally:
                self._run("rm -rf %s", written)
                if self.mounted:  # the copy failed: at least the real dir comes back as it was
                    self._run("umount %s", self.data_dir)
                    self.mounted = False
        if self.aside:
            self._run("rm -rf %s", self.aside)

    def _run(self, command: str, *args: str) -> str:
        return str(self.host.check_output(command, *args))


@pytest.fixture
def small_disk(manifest: Manifest, processes: ProcessControl) -> Iterator[SmallDisk]:
    redis = manifest.redis
    backend = manifest.host(redis.host).testinfra
    if redis.mode != "durable":
        pytest.skip(f"{manifest.boundary}'s Redis keeps nothing on disk ({redis.mode})")
    if not backend.startswith("local://"):
        pytest.skip(f"the Redis runs on {redis.host} ({backend}): a tmpfs is only mounted on this machine")
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = SmallDisk(testinfra.get_host(backend), redis.dir, ROOM)
    processes.stop(REDIS)
    try:
        disk.mount()
        processes.start(REDIS)
        yield disk
    finally:
        try:
            if not disk.restored:
                processes.stop(REDIS)
        finally:
            try:
                disk.restore()
            finally:
                processes.ensure_running(REDIS)


@dataclass
class Writes:
    """What the direct sends to Mail got: accepted ``{delivery_id: recipient}``, refusals, anything else."""

    accepted: dict[str, str] = field(default_factory=dict)
    refused: int = 0
    unclean: list[str] = field(default_factory=list)
    sent: int = 0
    after_full: int = 0  # writes answered once the disk had no room left

    def summary(self) -> str:
        kinds = Counter(u.split(":")[0] for u in self.unclean)
        return (
            f"{self.sent} writes: {len(self.accepted)} accepted, {self.refused} refused 503 problem, "
            f"{len(self.unclean)} unclean {dict(kinds) or ''}".rstrip()
        )


async def post(mail: httpx.AsyncClient, writes: Writes) -> None:
    writes.sent += 1
    tag = uuid.uuid4().hex
    to = f"full-disk-{tag[:12]}@{EMAIL_DOMAIN}"
    body = {"to": to, "template": TEMPLATE, "locale": "en", "params": PARAMS}
    try:
        response = await mail.post("/v1/deliveries", json=body, headers={"Idempotency-Key": f"full-disk-{tag}"})
    except httpx.TimeoutException:
        writes.unclean.append(f"no answer within {CLIENT_TIMEOUT:g}s")
        return
    except httpx.TransportError as exc:
        writes.unclean.append(f"Mail unreachable: {type(exc).__name__}")
        return
    if response.status_code in (200, 202):
        writes.accepted[response.json()["delivery_id"]] = to
    elif is_refusal(response):
        writes.refused += 1
    else:
        writes.unclean.append(f"{response.status_code}: {response.headers.get('content-type')} {response.text[:200]}")


def is_refusal(response: httpx.Response) -> bool:
    if (response.status_code, response.headers.get("content-type")) != (REFUSED[0], PROBLEM):
        return False
    body = response.json()
    return (body.get("status"), body.get("code")) == REFUSED and bool(body.get("detail") or body.get("title"))


async def fill(mail: httpx.AsyncClient, disk: SmallDisk) -> Writes:
    """Sends until Mail has refused ``REFUSALS`` of them, ``AFTER_FULL`` were sent with no room left on the
    disk, something unclean happened, or ``MAX_WRITES`` were sent."""
    writes = Writes()

    async def client() -> None:
        while (
            writes.refused < REFUSALS and writes.after_full < AFTER_FULL and not writes.unclean
        ) and writes.sent < MAX_WRITES:
            await post(mail, writes)
            if await asyncio.to_thread(disk.free_bytes) < PAGE:
                writes.after_full += 1

    await asyncio.wait_for(asyncio.gather(*(client() for _ in range(CONCURRENCY))), FILL_TIMEOUT)
    return writes


async def statuses(redis: aioredis.Redis, ids: list[str]) -> dict[str, str | None]:
    """Each delivery's status as Mail keeps it (contracts/redis/keys.md ``mail:delivery:{id}``); None: not stored."""
    found: dict[str, str | None] = {}
    for start in range(0, len(ids), STATUS_PAGE):
        page = ids[start : start + STATUS_PAGE]
        pipe = redis.pipeline(transaction=False)
        for delivery_id in page:
            pipe.hget(f"mail:delivery:{delivery_id}", "status")
        found.update(zip(page, await pipe.execute(), strict=True))
    return found


@pytest.fixture
async def mail_http(manifest: Manifest, secrets: LabSecrets) -> Any:
    headers = {"Authorization": f"Bearer {secrets.service_token(LAB_CALLER)}"}
    async with httpx.AsyncClient(
        base_url=manifest.url(MAIL), headers=headers, timeout=CLIENT_TIMEOUT, verify=secrets.verify()
    ) as client:
        yield client


async def test_a_full_disk_refuses_writes_cleanly_and_acknowledges_only_what_it_stored(
    request: pytest.FixtureRequest,
    processes: ProcessControl,
    small_disk: SmallDisk,
    mail_http: httpx.AsyncClient,
    redis: aioredis.Redis,
    sink: SmtpSink,
) -> None:
    mail_pid = processes.pid(MAIL)
    writes = await fill(mail_http, small_disk)
    free = small_disk.free_bytes()
    mail_pid_after = processes.pid(MAIL)
    await asyncio.to_thread(processes.stop, REDIS)
    await asyncio.to_thread(small_disk.restore)
    await asyncio.to_thread(processes.start, REDIS)
    stored = await statuses(redis, list(writes.accepted))
    missing = [delivery_id for delivery_id, status in stored.items() if status is None]

    async def all_sent() -> None:
        unsent = {d: s for d, s in (await statuses(redis, list(writes.accepted))).items() if s != "sent"}
        assert not unsent, f"{len(unsent)} accepted deliveries not sent, e.g. {dict(list(unsent.items())[:5])}"

    sent_error = ""
    if not missing:
        try:
            await eventually_async(all_sent, within=SENT_WITHIN, what="every accepted delivery sent", interval=0.5)
        except AssertionError as exc:
            sent_error = str(exc)
    try:
        after = await recovered(mail_http, sink)
    except AssertionError as exc:
        after = f"{NOT_RECOVERED}: {exc}"
    tell(request, "full disk", f"{writes.summary()}; {free} bytes free at the end; after freeing it: {after}")

    assert not writes.unclean, f"{writes.summary()}: {writes.unclean[:5]}"
    assert not missing, (
        f"{len(missing)} of {len(writes.accepted)} acknowledged deliveries were not stored: {missing[:5]}"
    )
    assert writes.refused >= REFUSALS, f"the disk never filled: {writes.summary()}"
    assert writes.accepted, "nothing was accepted before the disk was full"
    assert mail_pid_after == mail_pid, f"Mail's process changed ({mail_pid} -> {mail_pid_after}): it died"
    assert not sent_error, sent_error
    assert not after.startswith(NOT_RECOVERED), after


async def recovered(mail: httpx.AsyncClient, sink: SmtpSink) -> str:
    """A new delivery is accepted (polled: Redis has just started) and arrives at the sink."""
    tag = uuid.uuid4().hex
    to = f"full-disk-after-{tag[:12]}@{EMAIL_DOMAIN}"
    body = {"to": to, "template": TEMPLATE, "locale": "en", "params": PARAMS}

    async def accepted() -> None:
        with contextlib.suppress(httpx.TransportError):
            response = await mail.post("/v1/deliveries", json=body, headers={"Idempotency-Key": f"full-disk-{tag}"})
            assert response.status_code in (200, 202), response.text
            return
        raise AssertionError("Mail unreachable")

    await eventually_async(accepted, within=30.0, what="a delivery accepted after the disk was freed", interval=0.2)
    await sink.wait_one(to=to, timeout=30.0)
    return "a new delivery was accepted and sent"
