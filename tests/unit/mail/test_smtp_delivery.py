"""The smtp provider against a real SMTP server: the message as sent, retries on 4xx / timeouts / broken
connections on the schedule, 5xx failed and dead-lettered, the lifetime, and nothing lost in a crash."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import fakeredis
import httpx
import pytest

from galaxy.mail.adapters.deliveries import RedisDeliveryStore
from galaxy.mail.settings import Settings
from tests.unit.mail.conftest import Start, write_settings
from tests.unit.mail.helpers import LOGIN_CODE, dead_letters, post_delivery, until_status
from tests.unit.mail.smtp import Sink


async def test_the_message_is_delivered_as_multipart_with_its_headers(
    smtp_client: httpx.AsyncClient, sink: Sink, smtp_settings: Settings
) -> None:
    body = {**LOGIN_CODE, "params": {**LOGIN_CODE["params"], "display_name": "Ada <b>L</b>"}}
    delivery_id = (await post_delivery(smtp_client, "smtp-key-1", body)).json()["delivery_id"]

    received = await sink.one()
    view = await until_status(smtp_client, delivery_id, "sent")

    message = received.message
    assert received.recipients == ["ada@example.com"]
    assert received.sender == "no-reply@galaxy.invalid"
    assert message["Subject"] == "Your Galaxy sign-in code: 123456"
    assert message["To"] == "ada@example.com"
    assert message["Message-ID"] == f"<{delivery_id}@galaxy.invalid>" == view["message_id"]
    assert message["X-Galaxy-Delivery-Id"] == delivery_id
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "123456" in text.get_content()
    assert "Ada <b>L</b>" in text.get_content()
    assert "Ada &lt;b&gt;L&lt;/b&gt;" in html.get_content()
    assert view["attempts"] == 1
    assert [a["outcome"] for a in view["history"]] == ["sent"]
    assert view["history"][0]["detail"] == "accepted: OK queued"


@pytest.mark.parametrize("fault", ["451 mailbox busy, try later", "rcpt 450 greylisted", "drop", "hang"])
async def test_a_transient_failure_is_retried_on_the_schedule_then_delivered(
    smtp_client: httpx.AsyncClient, sink: Sink, smtp_settings: Settings, fault: str
) -> None:
    sink.script = [fault, fault]
    delivery_id = (await post_delivery(smtp_client, "transient-1")).json()["delivery_id"]

    view = await until_status(smtp_client, delivery_id, "sent")

    assert len(sink.received) == 1
    assert [a["outcome"] for a in view["history"]] == ["transient_failure", "transient_failure", "sent"]
    times = [datetime.fromisoformat(a["at"]) for a in view["history"]]
    for delay, earlier, later in zip(smtp_settings.retry_schedule_seconds, times, times[1:], strict=False):
        assert later - earlier >= timedelta(seconds=delay)
    assert view["last_error"] is None
    assert view["next_attempt_at"] is None


async def test_while_retrying_the_delivery_says_when_and_why(
    start: Start, sink: Sink, tmp_path: Path, redis: fakeredis.FakeAsyncRedis
) -> None:
    client = await start(
        write_settings(
            tmp_path,
            provider="smtp",
            smtp_port=sink.port,
            retry_schedule_seconds=(3600.0,),
            delivery_lifetime_seconds=7200.0,
        )
    )
    sink.script = ["421 service not available"]
    delivery_id = (await post_delivery(client, "retrying-1")).json()["delivery_id"]

    view = await until_status(client, delivery_id, "retrying")

    assert view["attempts"] == 1
    assert view["last_error"] == "SMTP 421 service not available"
    due = datetime.fromisoformat(view["next_attempt_at"]) - datetime.fromisoformat(view["history"][0]["at"])
    assert due == timedelta(hours=1)
    assert await redis.zscore("mail:due", delivery_id) is not None
    assert sink.received == []


@pytest.mark.parametrize("fault", ["554 message refused", "rcpt 550 no such user"])
async def test_a_5xx_reply_fails_at_once_and_is_dead_lettered(
    smtp_client: httpx.AsyncClient, sink: Sink, redis: fakeredis.FakeAsyncRedis, fault: str
) -> None:
    sink.script = [fault]
    delivery_id = (await post_delivery(smtp_client, "permanent-1")).json()["delivery_id"]

    view = await until_status(smtp_client, delivery_id, "failed")

    assert sink.transactions == 1  # no retry
    assert [a["outcome"] for a in view["history"]] == ["permanent_failure"]
    assert view["last_error"].startswith("smtp_permanent: SMTP 5")
    [letter] = await dead_letters(redis)
    assert (letter["source_stream"], letter["source_id"], letter["reason"]) == (
        "mail:deliveries",
        delivery_id,
        "smtp_permanent",
    )
    assert letter["deliveries"] == "1"
    assert await redis.zcard("mail:due") == 0


async def test_past_its_lifetime_a_delivery_is_dead_lettered(
    start: Start, sink: Sink, tmp_path: Path, redis: fakeredis.FakeAsyncRedis
) -> None:
    client = await start(
        write_settings(
            tmp_path,
            provider="smtp",
            smtp_port=sink.port,
            retry_schedule_seconds=(0.05,),
            delivery_lifetime_seconds=0.3,
        )
    )
    sink.script = ["451 try later"] * 1000
    delivery_id = (await post_delivery(client, "lifetime-1")).json()["delivery_id"]

    view = await until_status(client, delivery_id, "failed")

    outcomes = [a["outcome"] for a in view["history"]]
    assert len(outcomes) >= 2
    assert set(outcomes[:-1]) == {"transient_failure"}
    # the last retry either failed and found no time left, or came due only after the lifetime's end
    assert outcomes[-1] in ("transient_failure", "expired")
    assert view["last_error"].startswith("retries_exhausted: ")
    [letter] = await dead_letters(redis)
    assert letter["reason"] == "retries_exhausted"
    assert letter["deliveries"] == str(view["attempts"])
    assert sink.received == []


async def test_a_delivery_held_by_a_crashed_instance_is_sent_after_its_lease(
    idle: httpx.AsyncClient, start: Start, smtp_settings: Settings, sink: Sink, redis: fakeredis.FakeAsyncRedis
) -> None:
    delivery_id = (await post_delivery(idle, "crash-lease-1")).json()["delivery_id"]
    store = RedisDeliveryStore(redis, retention_seconds=60)
    held = await store.claim("crashed-instance", datetime.now().astimezone() + timedelta(seconds=0.3))
    assert held is not None
    assert held.delivery_id == delivery_id

    client = await start(smtp_settings)

    await until_status(client, delivery_id, "sent")
    assert len(sink.received) == 1
    assert await redis.llen("mail:processing") == 0


async def test_what_this_instance_held_when_it_crashed_is_sent_at_start(
    idle: httpx.AsyncClient, start: Start, smtp_settings: Settings, sink: Sink, redis: fakeredis.FakeAsyncRedis
) -> None:
    delivery_id = (await post_delivery(idle, "crash-own-1")).json()["delivery_id"]
    store = RedisDeliveryStore(redis, retention_seconds=60)
    await store.claim(smtp_settings.instance_name, datetime.now().astimezone() + timedelta(hours=1))

    client = await start(smtp_settings)

    await until_status(client, delivery_id, "sent")
    assert len(sink.received) == 1


async def test_deliveries_queued_while_the_service_was_down_are_sent_when_it_starts(
    idle: httpx.AsyncClient, start: Start, smtp_settings: Settings, sink: Sink
) -> None:
    ids = [(await post_delivery(idle, f"queued-{n:04d}")).json()["delivery_id"] for n in range(5)]

    client = await start(smtp_settings)

    for delivery_id in ids:
        await until_status(client, delivery_id, "sent")
    assert sorted(r.message["X-Galaxy-Delivery-Id"] for r in sink.received) == sorted(ids)
