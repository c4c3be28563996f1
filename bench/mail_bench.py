"""Mail benchmark on the ``authsessionmail`` boundary: deliveries/s and accept-to-arrival latency, the SMTP
sink's own messages/s, peak RSS of Mail and the sink.

1. ``--count`` deliveries ``POST /v1/deliveries`` (contracts/http/mail.openapi.yaml) as the lab caller, each
   with its own Idempotency-Key and recipient, ``--concurrency`` at a time. Each message is matched in the sink
   by its ``X-Galaxy-Delivery-Id`` header; latency is the sink's ``received`` time minus the delivery's
   ``created_at`` (Mail's acceptance; one host, one clock), and, in the JSON, minus the moment the client sent
   the request. Deliveries/s is the count over first request to last arrival.
2. ``--count`` messages straight to the sink's SMTP port with aiosmtplib (``--concurrency`` connections, each
   sending its share over one session): messages/s acknowledged ``250``.
3. VmHWM (peak RSS since the program started) of Mail and the sink, pids from the host's supervisorctl.

Reads the manifest (``GALAXYLAB_STATE_DIR`` or ``.lab``); the lab must be up. Prints a table and writes
``reports/mail_bench.json``::

    .venv/bin/python bench/mail_bench.py --count 2000 --concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench.lab_bench, and the test harness: the lab's typed client of the sink

from bench.lab_bench import manifest_of, peak_rss_mib, percentile  # noqa: E402
from galaxy_contracts.http import MailClient  # noqa: E402
from galaxylab.manifest import Manifest  # noqa: E402
from tests.harness import secrets as lab_secrets  # noqa: E402
from tests.harness.keys import EMAIL_DOMAIN  # noqa: E402
from tests.harness.sink import SinkMessage, SmtpSink  # noqa: E402

BOUNDARY = "authsessionmail"
MAIL = "mail"
SINK = "smtp-sink"
LAB_CALLER = "lab"
TEMPLATE = "auth.login_code"
PARAMS: dict[str, Any] = {"code": "424242", "expires_in_minutes": 10}
DELIVERY_HEADER = "X-Galaxy-Delivery-Id"
WAIT_CHUNK = 500  # messages per sink wait (full messages: keep the answer moderate)
WAIT_TIMEOUT = 60.0  # the sink's maximum per wait
ARRIVAL_DEADLINE = 120.0
CLIENT_TIMEOUT = 30.0


async def deliveries(mail: MailClient, sink: SmtpSink, count: int, concurrency: int) -> dict[str, float]:
    tag = uuid.uuid4().hex[:12]
    mark = await sink.mark()
    accepted_at: dict[str, float] = {}
    requested_at: dict[str, float] = {}
    slots = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        to = f"mailbench-{tag}-{n}@{EMAIL_DOMAIN}"
        async with slots:
            requested = time.time()
            delivery = await mail.send(to, TEMPLATE, PARAMS, idempotency_key=f"mailbench-{tag}-{n}")
            accepted_at[delivery.delivery_id] = delivery.created_at.timestamp()
            requested_at[delivery.delivery_id] = requested

    started = time.time()
    await asyncio.gather(*(one(n) for n in range(count)))
    accepted = time.time()
    if len(accepted_at) != count:
        raise SystemExit(f"{count} requests, {len(accepted_at)} distinct deliveries accepted")

    arrived = await collect(sink, mark, set(accepted_at))
    latencies = [arrived[d] - accepted_at[d] for d in accepted_at if d in arrived]
    round_trips = [arrived[d] - requested_at[d] for d in requested_at if d in arrived]
    if len(arrived) < count:
        print(f"warning: {count - len(arrived)} deliveries not in the sink after {ARRIVAL_DEADLINE:.0f}s")
    last = max(arrived.values())
    return {
        "deliveries": count,
        "arrived": len(arrived),
        "accepted_per_s": round(count / (accepted - started), 1),
        "deliveries_per_s": round(len(arrived) / (last - started), 1),
        "latency_p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 99) * 1000, 1),
        "latency_max_ms": round(max(latencies) * 1000, 1),
        "request_to_arrival_p50_ms": round(percentile(round_trips, 50) * 1000, 1),
        "request_to_arrival_p99_ms": round(percentile(round_trips, 99) * 1000, 1),
    }


async def collect(sink: SmtpSink, mark: int, delivery_ids: set[str]) -> dict[str, float]:
    """``{delivery_id: sink received time}`` of the sink's messages after ``mark`` carrying one of the ids,
    read in order with the sink's wait (it answers once the messages are there)."""
    arrived: dict[str, float] = {}
    cursor = mark
    deadline = time.monotonic() + ARRIVAL_DEADLINE
    while len(arrived) < len(delivery_ids) and time.monotonic() < deadline:
        want = min(WAIT_CHUNK, len(delivery_ids) - len(arrived))
        wait = min(WAIT_TIMEOUT, max(1.0, deadline - time.monotonic()))
        try:
            messages: list[SinkMessage] = await sink.wait(after=cursor, count=want, timeout=wait)
        except AssertionError:  # MailNotSeen: take what did arrive, then stop
            found = await sink.messages(after=cursor, limit=1000)
            messages = [await sink.message(m.id) for m in sorted(found, key=lambda m: m.seq)]
            deadline = 0.0
        for message in messages:
            cursor = max(cursor, message.seq)
            delivery_id = message.header(DELIVERY_HEADER)
            if delivery_id in delivery_ids:
                arrived.setdefault(delivery_id, message.received.timestamp())
    return arrived


async def sink_smtp(
    manifest: Manifest, secrets: lab_secrets.LabSecrets, count: int, concurrency: int
) -> dict[str, float]:
    host, port = manifest.endpoint(SINK).rsplit(":", 1)
    # With the lab's TLS on the sink's SMTP port is implicit TLS (SMTPS), verified with the lab's CA.
    tls = lab_secrets.tls_context(secrets.tls_ca) if manifest.component(SINK).tls and secrets.tls_ca else None
    tag = uuid.uuid4().hex[:12]
    connections = max(1, min(concurrency, count))

    async def session(index: int) -> int:
        sent = 0
        async with aiosmtplib.SMTP(
            hostname=host,
            port=int(port),
            timeout=CLIENT_TIMEOUT,
            use_tls=tls is not None,
            tls_context=tls,
            start_tls=False,
        ) as smtp:
            for n in range(index, count, connections):
                message = EmailMessage()
                message["From"] = f"bench@{EMAIL_DOMAIN}"
                message["To"] = f"sinkbench-{tag}-{n}@{EMAIL_DOMAIN}"
                message["Subject"] = f"sink bench {n}"
                message.set_content("A plain message of the sink benchmark.\n")
                await smtp.send_message(message)
                sent += 1
        return sent

    started = time.perf_counter()
    sent = sum(await asyncio.gather(*(session(i) for i in range(connections))))
    elapsed = time.perf_counter() - started
    return {"messages": sent, "connections": connections, "messages_per_s": round(sent / elapsed, 1)}


async def run(count: int, concurrency: int) -> dict[str, Any]:
    manifest = manifest_of(BOUNDARY)
    secrets = lab_secrets.read(manifest)
    token = secrets.service_token(LAB_CALLER)
    async with (
        MailClient(manifest.url(MAIL), token, timeout=CLIENT_TIMEOUT, verify=secrets.verify()) as mail,
        SmtpSink(manifest.component(SINK).admin_url, token, timeout=CLIENT_TIMEOUT, verify=secrets.verify()) as sink,
    ):
        through_mail = await deliveries(mail, sink, count, concurrency)
    direct = await sink_smtp(manifest, secrets, count, concurrency)
    return {
        "boundary": BOUNDARY,
        "concurrency": concurrency,
        "mail_to_sink": through_mail,
        "sink_smtp": direct,
        "peak_rss_mib": peak_rss_mib(manifest, [MAIL, SINK]),
    }


def table(figures: dict[str, Any]) -> str:
    m, s, rss = figures["mail_to_sink"], figures["sink_smtp"], figures["peak_rss_mib"]
    rows = [
        ("mail: deliveries accepted/s", m["accepted_per_s"]),
        (f"mail: deliveries/s to the sink ({m['arrived']}/{m['deliveries']})", m["deliveries_per_s"]),
        ("mail: accept-to-arrival p50 ms", m["latency_p50_ms"]),
        ("mail: accept-to-arrival p99 ms", m["latency_p99_ms"]),
        (f"sink: SMTP messages/s ({s['connections']} connections)", s["messages_per_s"]),
        *((f"peak RSS MiB: {name}", value) for name, value in sorted(rss.items())),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value:>10}" for name, value in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000, help="deliveries, and messages to the sink")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight / SMTP connections")
    args = parser.parse_args()
    if args.count < 1 or args.concurrency < 1:
        parser.error("--count and --concurrency must be at least 1")
    figures = asyncio.run(run(args.count, args.concurrency))
    print(table(figures))
    (ROOT / "reports").mkdir(exist_ok=True)
    (ROOT / "reports" / "mail_bench.json").write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
