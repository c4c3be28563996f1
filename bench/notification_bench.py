"""Notification benchmark: intents/s through Notification Service to ``gateway:push`` and to the clients'
Subscribe streams (``notificationgateway``), intent-to-client latency, intents/s to ``mail:deliveries``
(``notificationmail``), peak RSS of Notification and the gateway.

1. ``--users`` accounts seeded in the user stub, ``--subscriptions`` Subscribe streams opened through the
   gateway with sessions minted with the lab's key, spread over the users. A warm-up intent per user proves
   every stream open. Then ``--count`` intents of a push-only catalog type, round robin over the users, are
   written to ``notification:intents`` (schema-checked), ``--concurrency`` writers at a time. Latency is per
   (intent, subscription): the client's arrival time minus the moment just before the XADD. Intents/s to
   ``gateway:push`` is the count over first write to the last push entry's id time (Redis's clock, one host);
   to clients, over first write to the last arrival.
2. With ``notificationmail`` up (and no ``--skip-mail``): ``--count`` intents of an e-mail-only type to users of
   its user stub; intents/s and latency to their ``mail:deliveries`` entries (entry id time, ms).
3. VmHWM (peak RSS since the program started) of the programs, pids from the host's supervisorctl.

Reads the manifests (``GALAXYLAB_STATE_DIR`` or ``.lab``); the lab must be up. Prints a table and writes
``reports/notification_bench.json``::

    .venv/bin/python bench/notification_bench.py --count 2000 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import grpc
import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench.lab_bench, and the test harness: the lab's sessions, stubs and catalog

from bench.lab_bench import manifests, peak_rss_mib, percentile  # noqa: E402
from galaxy_contracts import redis_keys  # noqa: E402
from galaxy_contracts.gateway import GatewayClient, bearer, pb  # noqa: E402
from galaxylab.manifest import Manifest, manifests_dir  # noqa: E402
from tests.harness import catalog, sessions  # noqa: E402
from tests.harness import redis as lab_redis  # noqa: E402
from tests.harness import secrets as lab_secrets  # noqa: E402
from tests.harness.keys import unique_email  # noqa: E402
from tests.harness.stubs import StubControl  # noqa: E402

PUSH_BOUNDARY = "notificationgateway"
MAIL_BOUNDARY = "notificationmail"
NOTIFICATION = "notification"
GATEWAY = "gateway"
MAIL = "mail"
USER_STUB = "user-stub"
LAB_CALLER = "lab"
DEADLINE = 120.0
WARM_UP_DEADLINE = 30.0
XREAD_BLOCK_MS = 500
XREAD_COUNT = 1000


def boundary_peak_rss(manifest: Manifest, components: list[str]) -> dict[str, float]:
    return {f"{manifest.boundary}/{c}": mib for c, mib in peak_rss_mib(manifest, components).items()}


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def entry_time(entry_id: str) -> float:
    """The time Redis gave a stream entry (its id's milliseconds), in seconds."""
    return int(entry_id.split("-", 1)[0]) / 1000


def only_type(types: Iterable[str], channel: catalog.Channel) -> str:
    """The first catalog type sent on ``channel`` only (so the bench loads one output stream)."""
    found = [t for t in types if catalog.channels(t) == [channel]]
    if not found:
        raise SystemExit(f"the catalog has no type sent on {channel} alone")
    return found[0]


async def follow(redis: aioredis.Redis, stream: str, cursor: str, wanted: set[str], within: float) -> dict[str, float]:
    """``{intent_id: time Redis added its entry}`` for the wanted intents' entries on ``stream`` after ``cursor``
    (XREAD BLOCK), as many as appear within ``within`` seconds."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + within
    while len(seen) < len(wanted) and time.monotonic() < deadline:
        replies = cast(
            list[tuple[str, list[tuple[str, dict[str, str]]]]],
            await redis.xread({stream: cursor}, count=XREAD_COUNT, block=XREAD_BLOCK_MS),
        )
        for _, entries in replies or []:
            for entry_id, fields in entries:
                cursor = entry_id
                intent_id = fields.get("intent_id", "")
                if intent_id in wanted:
                    seen.setdefault(intent_id, entry_time(entry_id))
    if len(seen) < len(wanted):
        print(f"warning: {len(wanted) - len(seen)} intents not seen on {stream} within {within:.0f}s")
    return seen


class Subscription:
    """One client's Subscribe stream: the arrival time of each intent's event."""

    def __init__(self, gateway: GatewayClient, token: str, user: int, cursor: str, tally: Tally) -> None:
        self._gateway = gateway
        self._token = token
        self._cursor = cursor
        self._tally = tally
        self.user = user
        self.arrived: dict[str, float] = {}
        self.error: str | None = None

    async def run(self) -> None:
        call = self._gateway.stub.Subscribe(
            pb.SubscribeRequest(resume_after=self._cursor), metadata=bearer(self._token)
        )
        try:
            async for event in call:
                self.arrived.setdefault(event.intent_id, time.time())
                self._tally.one(event.intent_id)
            self.error = "ended by the gateway"
        except grpc.aio.AioRpcError as error:
            self.error = f"{error.code().name}: {error.details()}"
        finally:
            call.cancel()
        self._tally.check()


class Tally:
    """Counts arrivals of the intents being waited for; ``done`` once ``expected`` have arrived (or a stream
    ended, so the waiter reports it instead of timing out)."""

    def __init__(self) -> None:
        self.wanted: set[str] = set()
        self.expected = 0
        self.count = 0
        self.done = asyncio.Event()

    def expect(self, intent_ids: set[str], expected: int) -> None:
        self.wanted, self.expected, self.count = intent_ids, expected, 0
        self.done.clear()

    def one(self, intent_id: str) -> None:
        if intent_id in self.wanted:
            self.count += 1
            if self.count >= self.expected:
                self.done.set()

    def check(self) -> None:
        self.done.set()


async def write_intents(
    redis: aioredis.Redis, intents: list[dict[str, str]], concurrency: int, sent_at: dict[str, float]
) -> None:
    """XADD each intent on its own, ``concurrency`` writers at a time; ``sent_at`` the moment before each."""
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for fields in intents:
        queue.put_nowait(fields)

    async def writer() -> None:
        while not queue.empty():
            fields = queue.get_nowait()
            sent_at[fields["intent_id"]] = time.time()
            await redis.xadd(redis_keys.NOTIFICATION_INTENTS, dict(fields))  # type: ignore[arg-type]

    await asyncio.gather(*(writer() for _ in range(concurrency)))


async def seed_users(manifest: Manifest, secrets: lab_secrets.LabSecrets, users: int, tag: str) -> list[str]:
    token = secrets.service_token(LAB_CALLER)
    async with StubControl(manifest.url(USER_STUB), token, verify=secrets.verify()) as stub:
        return [(await stub.seed_account(unique_email(tag), display_name=f"{tag} {n}")).user_id for n in range(users)]


async def push(manifest: Manifest, count: int, concurrency: int, users: int, subscriptions: int) -> dict[str, Any]:
    secrets = lab_secrets.read(manifest)
    redis = lab_redis.client(manifest)
    intent_type = only_type(catalog.push_types(), "push")
    user_ids = await seed_users(manifest, secrets, users, "notifbench")
    minter = sessions.minter(manifest, redis, secrets)
    tokens = [(n % users, (await minter.open(user_ids[n % users])).token) for n in range(subscriptions)]
    roots = secrets.tls_ca if manifest.component(GATEWAY).tls else None  # the lab's CA with its TLS on
    gateways = [GatewayClient(manifest.endpoint(GATEWAY), root_certificates=roots) for _ in range(users)]
    cursor = await push_cursor(redis, catalog.intent(intent_type, user_ids[0]))
    tally = Tally()
    subs = [Subscription(gateways[user], token, user, cursor, tally) for user, token in tokens]
    per_user = [sum(1 for s in subs if s.user == u) for u in range(users)]
    tasks = [asyncio.create_task(s.run()) for s in subs]
    try:
        progress(f"{manifest.boundary}: {subscriptions} subscriptions opening, warm-up")
        warm = [catalog.intent(intent_type, uid) for uid in user_ids]
        tally.expect({i["intent_id"] for i in warm}, subscriptions)
        await write_intents(redis, warm, concurrency, {})
        await wait(tally.done, WARM_UP_DEADLINE, "every subscription to get its warm-up event", tally, subs)

        progress(f"{manifest.boundary}: {count} intents of {intent_type}")
        intents = [catalog.intent(intent_type, user_ids[n % users]) for n in range(count)]
        wanted = {i["intent_id"] for i in intents}
        expected = sum(per_user[n % users] for n in range(count))
        tally.expect(wanted, expected)
        sent_at: dict[str, float] = {}
        started = time.time()
        await write_intents(redis, intents, concurrency, sent_at)
        written = time.time()
        await wait(tally.done, DEADLINE, f"{expected} events at the clients", tally, subs)
        on_stream = await follow(redis, redis_keys.GATEWAY_PUSH, cursor, wanted, DEADLINE)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for gateway in gateways:
            await gateway.close()
        await redis.aclose()

    latencies = [t - sent_at[i] for s in subs for i, t in s.arrived.items() if i in wanted]
    last_arrival = max(t for s in subs for i, t in s.arrived.items() if i in wanted)
    return {
        "intent_type": intent_type,
        "intents": count,
        "users": users,
        "subscriptions": subscriptions,
        "events_expected": expected,
        "events_received": len(latencies),
        "written_per_s": round(count / (written - started), 1),
        "intents_per_s_to_push_stream": round(len(on_stream) / (max(on_stream.values()) - started), 1),
        "intents_per_s_to_clients": round(count / (last_arrival - started), 1),
        "latency_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "latency_max_ms": round(max(latencies) * 1000, 1),
    }


async def push_cursor(redis: aioredis.Redis, primer: dict[str, str]) -> str:
    """The newest ``gateway:push`` id, for subscriptions to resume after. The gateway refuses to resume after
    ``0-0`` once the stream has entries, so an empty stream is first given one (``primer``) and waited for."""
    cursor = await lab_redis.last_id(redis, redis_keys.GATEWAY_PUSH)
    if cursor != "0-0":
        return cursor
    await write_intents(redis, [primer], 1, {})
    deadline = time.monotonic() + WARM_UP_DEADLINE
    while time.monotonic() < deadline:
        await redis.xread({redis_keys.GATEWAY_PUSH: "0-0"}, count=1, block=XREAD_BLOCK_MS)
        cursor = await lab_redis.last_id(redis, redis_keys.GATEWAY_PUSH)
        if cursor != "0-0":
            return cursor
    raise SystemExit(f"nothing reached {redis_keys.GATEWAY_PUSH} within {WARM_UP_DEADLINE:.0f}s")


async def wait(done: asyncio.Event, within: float, what: str, tally: Tally, subs: list[Subscription]) -> None:
    try:
        await asyncio.wait_for(done.wait(), within)
    except TimeoutError:
        raise SystemExit(f"no {what} within {within:.0f}s ({tally.count}/{tally.expected})") from None
    ended = [s.error for s in subs if s.error]
    if ended:
        raise SystemExit(f"{len(ended)} subscriptions ended: {ended[0]}")


async def to_mail(manifest: Manifest, count: int, concurrency: int, users: int) -> dict[str, Any]:
    secrets = lab_secrets.read(manifest)
    redis = lab_redis.client(manifest)
    intent_type = only_type(catalog.email_types(), "email")
    user_ids = await seed_users(manifest, secrets, users, "notifmailbench")
    try:
        cursor = await lab_redis.last_id(redis, redis_keys.MAIL_DELIVERIES)
        progress(f"{manifest.boundary}: {count} intents of {intent_type}")
        intents = [catalog.intent(intent_type, user_ids[n % users]) for n in range(count)]
        sent_at: dict[str, float] = {}
        started = time.time()
        await write_intents(redis, intents, concurrency, sent_at)
        seen = await follow(redis, redis_keys.MAIL_DELIVERIES, cursor, set(sent_at), DEADLINE)
    finally:
        await redis.aclose()
    if not seen:
        raise SystemExit(f"none of {count} intents reached {redis_keys.MAIL_DELIVERIES} within {DEADLINE:.0f}s")
    latencies = [t - sent_at[i] for i, t in seen.items()]
    return {
        "intent_type": intent_type,
        "intents": count,
        "arrived": len(seen),
        "intents_per_s_to_mail_stream": round(len(seen) / (max(seen.values()) - started), 1),
        "latency_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 99) * 1000, 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    found = {m.boundary: m for m in manifests()}
    if PUSH_BOUNDARY not in found:
        raise SystemExit(f"no manifest for {PUSH_BOUNDARY} in {manifests_dir(ROOT)}: bring the lab up first")
    gateway_boundary = found[PUSH_BOUNDARY]
    figures: dict[str, Any] = {"concurrency": args.concurrency}
    figures["push"] = await push(gateway_boundary, args.count, args.concurrency, args.users, args.subscriptions)
    rss = boundary_peak_rss(gateway_boundary, [NOTIFICATION, GATEWAY])
    if MAIL_BOUNDARY in found and not args.skip_mail:
        mail_boundary = found[MAIL_BOUNDARY]
        figures["mail"] = await to_mail(mail_boundary, args.count, args.concurrency, args.users)
        rss |= boundary_peak_rss(mail_boundary, [NOTIFICATION, MAIL])
    figures["peak_rss_mib"] = rss
    return figures


def table(figures: dict[str, Any]) -> str:
    p = figures["push"]
    rows: list[tuple[str, object]] = [
        (f"push: intents written/s ({p['intent_type']})", p["written_per_s"]),
        ("push: intents/s to gateway:push", p["intents_per_s_to_push_stream"]),
        (f"push: intents/s to {p['subscriptions']} clients ({p['users']} users)", p["intents_per_s_to_clients"]),
        (f"push: events received ({p['events_received']}/{p['events_expected']})", ""),
        ("push: intent-to-client p50 ms", p["latency_p50_ms"]),
        ("push: intent-to-client p99 ms", p["latency_p99_ms"]),
    ]
    if "mail" in figures:
        m = figures["mail"]
        rows += [
            (f"mail: intents/s to mail:deliveries ({m['arrived']}/{m['intents']})", m["intents_per_s_to_mail_stream"]),
            ("mail: intent-to-stream p50 ms", m["latency_p50_ms"]),
            ("mail: intent-to-stream p99 ms", m["latency_p99_ms"]),
        ]
    rows += [(f"peak RSS MiB: {name}", value) for name, value in sorted(figures["peak_rss_mib"].items())]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value!s:>10}" for name, value in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000, help="intents per measurement")
    parser.add_argument("--concurrency", type=int, default=16, help="intent writers at a time")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--subscriptions", type=int, default=100, help="Subscribe streams, spread over the users")
    parser.add_argument("--skip-mail", action="store_true", help="leave out notificationmail")
    args = parser.parse_args()
    if min(args.count, args.concurrency, args.users) < 1 or args.subscriptions < args.users:
        parser.error("--count, --concurrency, --users at least 1; --subscriptions at least --users")
    figures = asyncio.run(run(args))
    print(table(figures))
    (ROOT / "reports").mkdir(exist_ok=True)
    (ROOT / "reports" / "notification_bench.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
