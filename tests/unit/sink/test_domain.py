"""The sink's domain without sockets: the mailbox, how messages read, faults."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from galaxylab.sink.domain.attempts import Attempts
from galaxylab.sink.domain.faults import Faults, FaultSpec
from galaxylab.sink.domain.mailbox import Mailbox, Query, WaitTimedOut
from galaxylab.sink.domain.messages import parse

SIMPLE = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nhello\r\n"


async def fill(mailbox: Mailbox, *subjects: str) -> None:
    for subject in subjects:
        await mailbox.add("a@example.com", ["b@example.com"], f"Subject: {subject}\r\n\r\nbody\r\n".encode())


# --- mailbox ---------------------------------------------------------------------------------------


async def test_the_mailbox_keeps_the_newest_limit_and_counts_the_evicted() -> None:
    mailbox = Mailbox(limit=2)

    await fill(mailbox, "one", "two", "three")

    assert [m.parsed.subject for m in mailbox.find(Query(), 10)] == ["three", "two"]
    assert (len(mailbox), mailbox.evicted, mailbox.last_seq) == (2, 1, 3)


async def test_find_is_newest_first_and_first_is_oldest_first() -> None:
    mailbox = Mailbox(limit=10)
    await fill(mailbox, "one", "two", "three")

    assert [m.parsed.subject for m in mailbox.find(Query(), 2)] == ["three", "two"]
    assert [m.parsed.subject for m in mailbox.first(Query(), 2)] == ["one", "two"]


async def test_clear_keeps_the_sequence_going() -> None:
    mailbox = Mailbox(limit=10)
    await fill(mailbox, "one")

    mailbox.clear()
    await fill(mailbox, "two")

    assert [m.seq for m in mailbox.find(Query(), 10)] == [2]


async def test_wait_wakes_on_a_match_not_on_other_messages() -> None:
    mailbox = Mailbox(limit=10)
    waiting = asyncio.create_task(mailbox.wait(Query(subject="wanted"), 1, 30))
    await asyncio.sleep(0)  # one turn: the waiter holds the condition

    await fill(mailbox, "other")
    await asyncio.sleep(0)
    woke_for_other = waiting.done()
    await fill(mailbox, "wanted")
    (found,) = await asyncio.wait_for(waiting, 5)

    assert not woke_for_other
    assert found.parsed.subject == "wanted"
    assert mailbox.waiters == 0


async def test_wait_times_out_saying_how_many_matched() -> None:
    mailbox = Mailbox(limit=10)
    await fill(mailbox, "wanted")

    with pytest.raises(WaitTimedOut) as timed_out:
        await mailbox.wait(Query(subject="wanted"), 2, 0.05)

    assert timed_out.value.matched == 1
    assert mailbox.waiters == 0


# --- reading messages ------------------------------------------------------------------------------


def test_encoded_and_folded_headers_read_decoded_and_unfolded() -> None:
    raw = b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nX-Long: one\r\n two\r\nTo: Ada <ada@example.com>\r\n\r\nx\r\n"

    parsed = parse(raw)

    assert (parsed.subject, parsed.header("x-long"), parsed.to) == ("Grüße", ["one two"], ("ada@example.com",))


@pytest.mark.parametrize(
    "raw",
    [
        b"Content-Type: text/plain; charset=no-such-charset\r\n\r\nbody\r\n",
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64\xff\r\n",
        b"Content-Type: multipart/alternative; boundary=missing\r\n\r\nno parts at all\r\n",
        b"Subject: =?x-unknown?b?////?=\r\nTo: <@>, ,,\r\nMessage-ID: <<<\r\n\r\n",
        b"no header at all, not even a blank line",
        b"",
        b"\xff\xfe\x00 binary \x00\r\n\r\n\x00",
    ],
)
def test_a_malformed_message_reads_without_raising(raw: bytes) -> None:
    parsed = parse(raw)

    assert parsed.text is None or isinstance(parsed.text, str)


def test_a_message_without_a_text_part_has_no_text() -> None:
    raw = b"Content-Type: application/octet-stream\r\n\r\nxyz\r\n"

    assert (parse(raw).text, parse(raw).html) == (None, None)


# --- faults ----------------------------------------------------------------------------------------


def test_a_fault_fires_times_times_then_is_gone() -> None:
    faults = Faults()
    faults.add(FaultSpec(code=451, times=2))

    fired = [faults.take("data", ["a@example.com"]) is not None for _ in range(3)]

    assert fired == [True, True, False]
    assert faults.pending() == []


def test_a_fault_without_times_stays_until_cleared() -> None:
    faults = Faults()
    faults.add(FaultSpec(code=451))

    assert all(faults.take("data", ["a@example.com"]) for _ in range(50))
    faults.clear()
    assert faults.take("data", ["a@example.com"]) is None


@pytest.mark.parametrize(
    ("spec", "stage", "recipients", "applies"),
    [
        ({"code": 451}, "rcpt", ["a@example.com"], False),
        ({"code": 451, "stage": "rcpt"}, "rcpt", ["a@example.com"], True),
        ({"code": 451, "recipient": "B@example.com"}, "data", ["a@example.com", "b@EXAMPLE.com"], True),
        ({"code": 451, "recipient": "b@example.com"}, "data", ["a@example.com"], False),
    ],
)
def test_which_transactions_a_fault_concerns(
    spec: dict[str, object], stage: str, recipients: list[str], applies: bool
) -> None:
    faults = Faults()
    faults.add(FaultSpec.model_validate(spec))

    assert (faults.take(stage, recipients) is not None) == applies  # type: ignore[arg-type]


def test_the_same_seed_draws_the_same_pattern() -> None:
    def pattern() -> list[bool]:
        faults = Faults()
        faults.add(FaultSpec(code=451, probability=0.3, seed=7))
        return [faults.take("data", ["a@example.com"]) is not None for _ in range(200)]

    first = pattern()

    assert first == pattern()
    assert 20 < first.count(True) < 100


@pytest.mark.parametrize(
    "spec",
    [{}, {"code": 451, "drop": True}, {"text": "4.0.0 x"}, {"code": 451, "text": "a\nb"}, {"delay_ms": -1}],
)
def test_a_fault_spec_must_make_sense(spec: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        FaultSpec.model_validate(spec)


@pytest.mark.parametrize(("after", "seqs"), [(0, [3, 4, 5]), (3, [4, 5]), (4, [5]), (5, []), (9, [])])
def test_attempts_after_a_seq_are_the_newer_ones_oldest_first_of_those_kept(after: int, seqs: list[int]) -> None:
    log = Attempts(limit=3)
    for _ in range(5):
        log.record(stage="data", outcome="accepted", code=250, mail_from="a@x.test", rcpt_tos=["b@x.test"], size=1)

    assert [a.seq for a in log.all(after)] == seqs
    assert (len(log), log.last_seq) == (3, 5)
