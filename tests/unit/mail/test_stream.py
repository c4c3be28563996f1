"""Template-mode entries on ``mail:deliveries`` (group ``mail``): delivered once, malformed ones
dead-lettered without blocking later ones, crashed consumers' entries reclaimed with XAUTOCLAIM."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

import fakeredis
import httpx
import pytest

from galaxy.mail.main import Mail
from galaxy.mail.settings import Settings
from tests.harness.waits import eventually_async
from tests.unit.mail.conftest import Start
from tests.unit.mail.helpers import OPERATOR, WITHIN, dead_letters
from tests.unit.mail.smtp import Sink

STREAM = "mail:deliveries"


def entry(template: str = "account.welcome", **overrides: Any) -> dict[str, str]:
    params = overrides.pop("params", {"display_name": "Ada"})
    fields = {
        "idempotency_key": "intent-" + secrets.token_hex(8),
        "intent_id": "i_" + secrets.token_hex(16),
        "to": "ada@example.com",
        "template": template,
        "locale": "en",
        "params": params if isinstance(params, str) else json.dumps(params),
        "created_at": datetime.now(UTC).isoformat(),
        **overrides,
    }
    return fields


async def deliveries(client: httpx.AsyncClient, **filters: str) -> list[dict[str, Any]]:
    response = await client.get("/v1/operator/deliveries", params=filters, headers=OPERATOR)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["deliveries"]
    return found


async def delivered_for(client: httpx.AsyncClient, intent_id: str) -> dict[str, Any]:
    async def check() -> dict[str, Any]:
        matching = [d for d in await deliveries(client) if d["intent_id"] == intent_id]
        assert len(matching) == 1, matching
        found = matching[0]
        assert found["status"] in ("sent", "recorded"), found
        return found

    return await eventually_async(check, within=WITHIN, what=f"delivery of {intent_id}")


async def until_acknowledged(redis: fakeredis.FakeAsyncRedis) -> None:
    async def check() -> None:
        assert (await redis.xpending(STREAM, "mail"))["pending"] == 0

    await eventually_async(check, within=WITHIN, what="every mail:deliveries entry acknowledged")


@pytest.mark.parametrize(
    ("template", "params"),
    [
        ("account.welcome", {}),
        ("security.new_login", {"session_id": "s_" + "1" * 32}),
        ("system.maintenance", {"starts_at": "2025-06-01T02:00Z", "duration_minutes": "30"}),
        ("digest.weekly", {"week": "2025-W22", "highlights": "3 new friends"}),
    ],
)
async def test_each_catalog_email_entry_is_sent(
    smtp_client: httpx.AsyncClient, sink: Sink, redis: fakeredis.FakeAsyncRedis, template: str, params: dict[str, str]
) -> None:
    fields = entry(template, params=params)
    await redis.xadd(STREAM, fields)

    view = await delivered_for(smtp_client, fields["intent_id"])

    received = await sink.one()
    assert received.message["X-Galaxy-Delivery-Id"] == view["delivery_id"]
    assert received.message["X-Galaxy-Template"] == template
    assert (view["source"], view["template"]) == ("stream", template)
    await until_acknowledged(redis)


async def test_a_redelivered_entry_sends_one_mail(
    smtp_client: httpx.AsyncClient, sink: Sink, redis: fakeredis.FakeAsyncRedis
) -> None:
    fields = entry()
    await redis.xadd(STREAM, fields)
    await redis.xadd(STREAM, fields)  # the producer wrote it twice (retry after a lost reply)
    later = entry()
    await redis.xadd(STREAM, later)

    await delivered_for(smtp_client, later["intent_id"])
    await until_acknowledged(redis)

    assert len([d for d in await deliveries(smtp_client) if d["intent_id"] == fields["intent_id"]]) == 1
    assert len(sink.received) == 2


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"template": "account.welcome", "to": "not an address"}, "invalid_entry"),
        ({"template": "account.welcome", "params": "[1, 2]"}, "invalid_entry"),
        ({"template": "account.welcome", "params": "{not json"}, "invalid_entry"),
        ({"template": "account.welcome", "locale": "xx"}, "invalid_entry"),
        ({"template": "no.such_template"}, "unknown_template"),
        ({"template": "security.new_login", "params": {}}, "render_failed"),
    ],
)
async def test_a_malformed_entry_is_dead_lettered_while_the_next_is_delivered(
    client: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis, bad: dict[str, Any], reason: str
) -> None:
    poison = entry(**bad)
    poison_id = await redis.xadd(STREAM, poison)
    good = entry()
    await redis.xadd(STREAM, good)

    await delivered_for(client, good["intent_id"])
    await until_acknowledged(redis)

    [letter] = await dead_letters(redis)
    assert (letter["source_stream"], letter["source_id"], letter["reason"]) == (STREAM, poison_id, reason)
    assert json.loads(letter["entry"]) == poison
    assert letter["deliveries"] == "1"


async def test_an_entry_missing_a_field_is_dead_lettered(
    client: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis
) -> None:
    await redis.xadd(STREAM, {"to": "ada@example.com"})

    async def dead_lettered() -> dict[str, str]:
        [letter] = await dead_letters(redis)
        return letter

    letter = await eventually_async(dead_lettered, within=WITHIN, what="the entry dead-lettered", retry_on=ValueError)
    await until_acknowledged(redis)
    assert letter["reason"] == "invalid_entry"
    assert "required" in letter["detail"]


async def test_an_entry_a_crashed_consumer_left_pending_is_reclaimed_and_delivered(
    start: Start, settings: Settings, redis: fakeredis.FakeAsyncRedis
) -> None:
    await redis.xgroup_create(STREAM, "mail", id="0", mkstream=True)
    fields = entry()
    await redis.xadd(STREAM, fields)
    await redis.xreadgroup("mail", "crashed", {STREAM: ">"}, count=10)  # read, never acknowledged

    client = await start(settings)

    view = await delivered_for(client, fields["intent_id"])
    assert view["source"] == "stream"
    await until_acknowledged(redis)


async def test_only_entries_idle_past_the_reclaim_time_are_claimed(mail: Mail, redis: fakeredis.FakeAsyncRedis) -> None:
    await mail.consumer.ensure_group()
    await redis.xadd(STREAM, entry())
    await redis.xreadgroup("mail", "busy-elsewhere", {STREAM: ">"}, count=10)

    assert await mail.consumer.reclaim() == 0  # still being handled by a live consumer

    async def reclaimed() -> None:
        assert await mail.consumer.reclaim() == 1

    await eventually_async(reclaimed, within=WITHIN, what="the idle entry reclaimed")
    assert (await redis.xpending(STREAM, "mail"))["pending"] == 0
    assert await redis.llen("mail:queue") == 1


async def test_an_entry_delivered_too_often_is_dead_lettered_as_poison(
    mail: Mail, settings: Settings, redis: fakeredis.FakeAsyncRedis
) -> None:
    await mail.consumer.ensure_group()
    entry_id = await redis.xadd(STREAM, entry())
    await redis.xreadgroup("mail", "dying", {STREAM: ">"}, count=1)
    for _ in range(settings.stream_max_deliveries):  # each consumer that took it died before handling it
        await redis.xclaim(STREAM, "mail", "dying", 0, [entry_id])

    async def reclaimed() -> None:
        assert await mail.consumer.reclaim() == 1

    await eventually_async(reclaimed, within=WITHIN, what="the idle entry reclaimed")

    [letter] = await dead_letters(redis)
    assert (letter["reason"], letter["source_id"]) == ("poison", entry_id)
    assert int(letter["deliveries"]) > settings.stream_max_deliveries
    assert (await redis.xpending(STREAM, "mail"))["pending"] == 0
    assert await redis.llen("mail:queue") == 0


async def test_pending_entries_are_handled_by_their_own_consumer_after_a_restart(
    mail: Mail, settings: Settings, redis: fakeredis.FakeAsyncRedis
) -> None:
    await mail.consumer.ensure_group()
    await redis.xadd(STREAM, entry())
    await redis.xreadgroup("mail", settings.instance_name, {STREAM: ">"}, count=10)  # read, then "crashed"

    handled = await mail.consumer.read(pending=True)

    assert handled == 1
    assert (await redis.xpending(STREAM, "mail"))["pending"] == 0
    assert await redis.llen("mail:queue") == 1


async def test_entries_written_before_mail_first_ran_are_not_skipped(
    start: Start, settings: Settings, redis: fakeredis.FakeAsyncRedis
) -> None:
    fields = entry()
    await redis.xadd(STREAM, fields)  # no group yet

    client = await start(settings)

    await delivered_for(client, fields["intent_id"])
