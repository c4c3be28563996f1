"""tests.harness.sink.SmtpSink against a real sink started in this process (SMTP + API on free ports)."""

from __future__ import annotations

import asyncio
import smtplib
import time
from collections.abc import AsyncIterator

import aiosmtplib
import pytest

from tests.harness.sink import MailNotSeen, SinkError, SmtpSink
from tests.harness.waits import until_async
from tests.unit.sink.mail import message, send, smtp, wire
from tests.unit.sink.running import HOST, TOKENS, RunningSink, running_sink

DEADLINE_SECONDS = 10.0


@pytest.fixture
async def running() -> AsyncIterator[RunningSink]:
    async with running_sink() as sink:
        yield sink


@pytest.fixture
async def sink(running: RunningSink) -> AsyncIterator[SmtpSink]:
    async with SmtpSink(running.api_url, TOKENS["lab"]) as client:
        yield client


async def test_messages_search_and_read(running: RunningSink, sink: SmtpSink) -> None:
    await send(running.smtp_port, message(to="ada@example.com", subject="one", X_Template="a"))
    sent = message(to="bob@example.com", subject="two", html="<p>hi</p>", X_Template="b")
    expected = wire(sent)  # fixes the multipart boundary
    await send(running.smtp_port, sent, ["bob@example.com", "audit@example.com"])

    everything = await sink.messages()
    to_bob = await sink.messages(to="bob@example.com", headers={"X-Template": "b"})
    (summary,) = to_bob
    full = await sink.message(summary.id)

    assert [m.subject for m in everything] == ["two", "one"]
    assert (summary.sender, summary.to, summary.rcpt_tos) == (
        "galaxy@example.com",
        ["bob@example.com"],
        ["bob@example.com", "audit@example.com"],
    )
    assert (full.header("x-template"), full.header("x-missing"), full.html) == ("b", None, "<p>hi</p>\r\n")
    assert await sink.raw(summary.id) == expected
    assert await sink.messages(sender="nobody@example.com") == []


async def test_wait_one_answers_when_the_mail_arrives(running: RunningSink, sink: SmtpSink) -> None:
    mark = await sink.mark()

    async def later() -> None:
        await until_waiting(running)
        await send(running.smtp_port, message(to="ada@example.com", text="code 654321"))

    sending = asyncio.create_task(later())
    mail = await sink.wait_one(to="ada@example.com", after=mark, timeout=30)
    await sending

    assert (mail.text, mail.seq) == ("code 654321\r\n", mark + 1)


async def until_waiting(running: RunningSink) -> None:
    async def held() -> bool:
        return running.sink.mailbox.waiters > 0

    await until_async(held, within=DEADLINE_SECONDS, what="a wait held by the sink", interval=0.01)


async def test_wait_for_several(running: RunningSink, sink: SmtpSink) -> None:
    for n in range(3):
        await send(running.smtp_port, message(subject=f"n{n}"))

    found = await sink.wait(subject="n", count=2, timeout=1)

    assert [m.subject for m in found] == ["n0", "n1"]


async def test_wait_that_times_out_raises_mail_not_seen_naming_what_arrived(
    running: RunningSink, sink: SmtpSink
) -> None:
    await send(running.smtp_port, message(to="bob@example.com", subject="not this one"))

    started = time.monotonic()
    with pytest.raises(MailNotSeen, match=r"latest received: \['bob@example.com'\] 'not this one'"):
        await sink.wait(to="ada@example.com", timeout=0.2)

    assert 0.2 <= time.monotonic() - started < DEADLINE_SECONDS


async def test_refuse_then_attempts_count_the_tries(running: RunningSink, sink: SmtpSink) -> None:
    fault = await sink.refuse(451, "4.7.1 Later", times=2)

    codes = []
    for _ in range(3):
        try:
            await send(running.smtp_port, message())
            codes.append(250)
        except smtplib.SMTPResponseException as refused:
            codes.append(refused.smtp_code)
    tried = await sink.attempts()

    assert (fault.code, fault.remaining, codes) == (451, 2, [451, 451, 250])
    assert [(a.outcome, a.code, a.fault_id) for a in tried] == [
        ("refused", 451, fault.id),
        ("refused", 451, fault.id),
        ("accepted", 250, None),
    ]
    assert tried[2].message_id == (await sink.messages())[0].id
    assert [a.seq for a in await sink.attempts(after=tried[0].seq)] == [tried[1].seq, tried[2].seq]
    assert await sink.faults() == []


async def test_drop_and_delay(running: RunningSink, sink: SmtpSink) -> None:
    await sink.drop(recipient="ada@example.com")
    await sink.delay(200, code=554)

    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await aiosmtplib.send(message(), hostname=HOST, port=running.smtp_port, timeout=DEADLINE_SECONDS)
    started = time.monotonic()
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await aiosmtplib.send(message(), hostname=HOST, port=running.smtp_port, timeout=DEADLINE_SECONDS)

    assert refused.value.code == 554
    assert time.monotonic() - started >= 0.2
    assert [a.outcome for a in await sink.attempts()] == ["dropped", "refused"]


async def test_a_rcpt_fault_for_one_recipient(running: RunningSink, sink: SmtpSink) -> None:
    await sink.fault(stage="rcpt", code=550, recipient="bob@example.com")

    refused = await send(running.smtp_port, message(), ["ada@example.com", "bob@example.com"])

    assert refused == {"bob@example.com": (550, b"5.3.0 Permanent failure injected by the lab")}
    assert [m.rcpt_tos for m in await sink.messages()] == [["ada@example.com"]]


async def test_faults_listed_removed_and_cleared(running: RunningSink, sink: SmtpSink) -> None:
    first = await sink.fault(code=451, probability=0.5, seed=3)
    second = await sink.fault(code=554, times=None)

    listed = await sink.faults()
    await sink.remove_fault(first.id)
    after_remove = await sink.faults()
    await sink.clear_faults()

    assert [f.id for f in listed] == [first.id, second.id]
    assert [f.id for f in after_remove] == [second.id]
    assert await sink.faults() == []
    assert (await smtp(running.smtp_port, lambda c: c.noop()))[0] == 250


async def test_delete_reset_and_status(running: RunningSink, sink: SmtpSink) -> None:
    await send(running.smtp_port, message())
    await sink.refuse(451, times=None)

    before = await sink.status()
    await sink.delete_messages()
    after_delete = await sink.status()
    await sink.reset()
    after_reset = await sink.status()

    assert (before.messages, before.faults, before.attempts, before.last_seq) == (1, 1, 1, 1)
    assert (after_delete.messages, after_delete.faults) == (0, 1)
    assert (after_reset.messages, after_reset.faults, after_reset.attempts, after_reset.last_seq) == (0, 0, 0, 1)


async def test_errors_carry_the_status_and_problem_code(running: RunningSink, sink: SmtpSink) -> None:
    async with SmtpSink(running.api_url, TOKENS["gateway"]) as wrong:
        with pytest.raises(SinkError) as forbidden:
            await wrong.messages()
    with pytest.raises(SinkError) as missing:
        await sink.message("m_0000000000000000")
    with pytest.raises(SinkError) as invalid:
        await sink.fault(code=200)
    with pytest.raises(SinkError) as too_long:
        await sink.wait(timeout=61)

    assert (forbidden.value.status, forbidden.value.code) == (403, "forbidden")
    assert (missing.value.status, missing.value.code) == (404, "message_not_found")
    assert (invalid.value.status, invalid.value.code) == (422, "validation_failed")
    assert (too_long.value.status, too_long.value.code) == (422, "validation_failed")
