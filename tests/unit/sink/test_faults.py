"""Injected faults as SMTP clients see them, and the attempts the sink records."""

from __future__ import annotations

import smtplib
import time
from typing import Any

import aiosmtplib
import httpx
import pytest
from starlette.types import ASGIApp

from galaxylab.sink.domain.faults import MAX_FAULTS
from galaxylab.sink.main import create_app, create_sink, lab_token
from tests.harness.waits import eventually_async
from tests.unit.common.ports import closed_port
from tests.unit.sink.mail import message, send, smtp
from tests.unit.sink.running import HOST, TOKENS

DEADLINE_SECONDS = 10.0


async def fault(api: httpx.AsyncClient, **spec: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/faults", json=spec)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def attempts(api: httpx.AsyncClient, **params: Any) -> list[tuple[Any, ...]]:
    found = (await api.get("/api/v1/attempts", params=params)).json()["attempts"]
    return [(a["stage"], a["outcome"], a["code"], a["rcpt_tos"]) for a in found]


async def stored(api: httpx.AsyncClient) -> list[list[str]]:
    return [m["rcpt_tos"] for m in (await api.get("/api/v1/messages")).json()["messages"]]


async def outcome(port: int, to: str = "ada@example.com") -> int:
    """The code smtplib ended with for one message: 250, the refusal's code, or 0 for a dropped connection."""
    try:
        await send(port, message(to=to))
    except smtplib.SMTPResponseException as refused:
        return refused.smtp_code
    except smtplib.SMTPRecipientsRefused as refused:
        return refused.recipients[to][0]
    except smtplib.SMTPServerDisconnected:
        return 0
    return 250


# --- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "text"), [(451, "4.7.1 Try again later"), (554, "5.7.1 Refused for the test")])
async def test_the_next_n_messages_are_refused_with_the_code_and_text(
    smtp_port: int, api: httpx.AsyncClient, code: int, text: str
) -> None:
    await fault(api, code=code, text=text, times=2)

    with pytest.raises(smtplib.SMTPDataError) as first:
        await send(smtp_port, message())
    second = await outcome(smtp_port)
    third = await outcome(smtp_port)

    assert (first.value.smtp_code, first.value.smtp_error) == (code, text.encode())
    assert (second, third) == (code, 250)
    assert await attempts(api) == [
        ("data", "refused", code, ["ada@example.com"]),
        ("data", "refused", code, ["ada@example.com"]),
        ("data", "accepted", 250, ["ada@example.com"]),
    ]
    assert len(await stored(api)) == 1


async def test_a_refusal_without_text_gets_an_enhanced_status_text(smtp_port: int, api: httpx.AsyncClient) -> None:
    await fault(api, code=421)

    with pytest.raises(smtplib.SMTPResponseException) as refused:
        await send(smtp_port, message())

    assert (refused.value.smtp_code, refused.value.smtp_error) == (421, b"4.3.0 Temporary failure injected by the lab")


async def test_a_fault_for_a_recipient_refuses_only_messages_to_it(smtp_port: int, api: httpx.AsyncClient) -> None:
    await fault(api, code=550, recipient="Bob@Example.com")

    to_ada = await outcome(smtp_port, "ada@example.com")
    to_bob = await outcome(smtp_port, "bob@example.com")
    with pytest.raises(smtplib.SMTPDataError):
        await send(smtp_port, message(), ["ada@example.com", "bob@example.com"])

    assert (to_ada, to_bob) == (250, 550)
    assert await stored(api) == [["ada@example.com"]]


async def test_a_fault_at_rcpt_refuses_that_recipient_and_keeps_the_others(
    smtp_port: int, api: httpx.AsyncClient
) -> None:
    await fault(api, stage="rcpt", code=550, text="5.1.1 No such user", recipient="bob@example.com")

    refused = await send(smtp_port, message(), ["ada@example.com", "bob@example.com"])
    alone = await outcome(smtp_port, "bob@example.com")

    assert refused == {"bob@example.com": (550, b"5.1.1 No such user")}
    assert alone == 550
    assert await stored(api) == [["ada@example.com"]]
    assert await attempts(api) == [
        ("rcpt", "refused", 550, ["bob@example.com"]),
        ("data", "accepted", 250, ["ada@example.com"]),
        ("rcpt", "refused", 550, ["bob@example.com"]),
    ]


async def test_a_seeded_probability_repeats_its_pattern(smtp_port: int, api: httpx.AsyncClient) -> None:
    async def pattern() -> list[int]:
        await api.post("/api/v1/reset")
        await fault(api, code=451, probability=0.5, seed=20240601)

        def twenty(client: smtplib.SMTP) -> list[int]:
            codes = []
            for _ in range(20):
                try:
                    client.send_message(message())
                    codes.append(250)
                except smtplib.SMTPDataError as refused:
                    codes.append(refused.smtp_code)
            return codes

        return await smtp(smtp_port, twenty)

    first, second = await pattern(), await pattern()

    assert first == second
    assert set(first) == {250, 451}
    assert len(await stored(api)) == first.count(250)


async def test_aiosmtplib_sees_the_refusal(smtp_port: int, api: httpx.AsyncClient) -> None:
    await fault(api, code=452, text="4.3.1 Insufficient system storage")

    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await aiosmtplib.send(message(), hostname=HOST, port=smtp_port)

    assert (refused.value.code, refused.value.message) == (452, "4.3.1 Insufficient system storage")


# --- dropped connections and delays ----------------------------------------------------------------


async def test_a_dropped_connection_at_data_end_is_seen_and_nothing_is_kept(
    smtp_port: int, api: httpx.AsyncClient
) -> None:
    await fault(api, drop=True, times=1)

    with pytest.raises(smtplib.SMTPServerDisconnected):
        await send(smtp_port, message())
    after = await outcome(smtp_port)

    assert after == 250
    assert await attempts(api) == [
        ("data", "dropped", None, ["ada@example.com"]),
        ("data", "accepted", 250, ["ada@example.com"]),
    ]
    assert len(await stored(api)) == 1


async def test_a_dropped_connection_at_rcpt(smtp_port: int, api: httpx.AsyncClient) -> None:
    await fault(api, stage="rcpt", drop=True)

    with pytest.raises(smtplib.SMTPServerDisconnected):
        await send(smtp_port, message())

    assert await attempts(api) == [("rcpt", "dropped", None, ["ada@example.com"])]


async def test_aiosmtplib_sees_the_dropped_connection(smtp_port: int, api: httpx.AsyncClient) -> None:
    await fault(api, drop=True)

    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await aiosmtplib.send(message(), hostname=HOST, port=smtp_port, timeout=DEADLINE_SECONDS)


@pytest.mark.parametrize(("spec", "expected"), [({}, 250), ({"code": 451}, 451)], ids=["then-accept", "then-refuse"])
async def test_a_delayed_reply(smtp_port: int, api: httpx.AsyncClient, spec: dict[str, Any], expected: int) -> None:
    await fault(api, delay_ms=300, **spec)

    started = time.monotonic()
    code = await outcome(smtp_port)

    assert code == expected
    assert time.monotonic() - started >= 0.3


async def test_a_delay_longer_than_the_clients_timeout_is_recorded_as_abandoned(
    smtp_port: int, api: httpx.AsyncClient
) -> None:
    await fault(api, delay_ms=30_000)

    with pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"):
        await smtp(smtp_port, lambda c: c.send_message(message()), client_timeout=0.3)

    async def abandoned() -> None:
        assert await attempts(api) == [("data", "abandoned", None, ["ada@example.com"])]

    await eventually_async(abandoned, within=DEADLINE_SECONDS, what="the abandoned attempt recorded")
    assert await stored(api) == []


# --- managing faults and attempts ------------------------------------------------------------------


async def test_pending_faults_count_down_and_disappear_when_used_up(smtp_port: int, api: httpx.AsyncClient) -> None:
    created = await fault(api, code=451, times=2)

    await outcome(smtp_port)
    (pending,) = (await api.get("/api/v1/faults")).json()["faults"]
    await outcome(smtp_port)

    assert (created["remaining"], created["fired"], created["stage"]) == (2, 0, "data")
    assert (pending["id"], pending["remaining"], pending["fired"]) == (created["id"], 1, 1)
    assert (await api.get("/api/v1/faults")).json()["faults"] == []


async def test_the_first_added_fault_wins(smtp_port: int, api: httpx.AsyncClient) -> None:
    await fault(api, code=451, times=1)
    await fault(api, code=554, times=1)

    assert [await outcome(smtp_port) for _ in range(3)] == [451, 554, 250]


async def test_clearing_faults_ends_them(smtp_port: int, api: httpx.AsyncClient) -> None:
    await fault(api, code=451)

    cleared = await api.delete("/api/v1/faults")

    assert cleared.status_code == 204
    assert await outcome(smtp_port) == 250


async def test_removing_one_fault(smtp_port: int, api: httpx.AsyncClient) -> None:
    first = await fault(api, code=451)
    await fault(api, code=554)

    removed = await api.delete(f"/api/v1/faults/{first['id']}")
    again = await api.delete(f"/api/v1/faults/{first['id']}")

    assert removed.status_code == 204
    assert (again.status_code, again.json()["code"]) == (404, "fault_not_found")
    assert await outcome(smtp_port) == 554


async def test_attempts_after_a_sequence_number_and_cleared(smtp_port: int, api: httpx.AsyncClient) -> None:
    await outcome(smtp_port)
    await outcome(smtp_port)

    later = (await api.get("/api/v1/attempts", params={"after": 1})).json()["attempts"]
    newest = (await api.get("/api/v1/status")).json()["last_attempt_seq"]
    cleared = await api.delete("/api/v1/attempts")
    after_clear = (await api.get("/api/v1/status")).json()

    assert [a["seq"] for a in later] == [2]
    assert newest == 2
    assert cleared.status_code == 204
    assert await attempts(api) == []
    assert (after_clear["attempts"], after_clear["last_attempt_seq"]) == (0, 2), "the sequence went back"


async def test_reset_forgets_messages_attempts_and_faults(smtp_port: int, api: httpx.AsyncClient) -> None:
    await outcome(smtp_port)
    await fault(api, code=451)

    reset = await api.post("/api/v1/reset")
    status = (await api.get("/api/v1/status")).json()

    assert reset.status_code == 204
    assert (status["messages"], status["attempts"], status["faults"]) == (0, 0, 0)
    assert await outcome(smtp_port) == 250


# --- bad fault specs -------------------------------------------------------------------------------


@pytest.fixture
def app() -> ASGIApp:
    return create_app(create_sink(10), lab_token(TOKENS), HOST, closed_port())


def lab(app: ASGIApp) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {TOKENS['lab']}"}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sink", headers=headers)


@pytest.mark.parametrize(
    ("spec", "status"),
    [
        ({}, 422),  # nothing to inject
        ({"code": 250}, 422),
        ({"code": 600}, 422),
        ({"code": 451, "drop": True}, 422),
        ({"text": "4.0.0 no code"}, 422),
        ({"code": 451, "text": "4.0.0 two\r\n250 lines"}, 422),  # no reply injection
        ({"code": 451, "text": ""}, 422),
        ({"code": 451, "times": 0}, 422),
        ({"code": 451, "probability": 0}, 422),
        ({"code": 451, "probability": 1.5}, 422),
        ({"delay_ms": 60_001}, 422),
        ({"code": 451, "stage": "mail"}, 422),
        ({"code": 451, "recipient": "not an address"}, 422),
        ({"code": "451"}, 400),  # a string is not a code
        ({"code": 451, "times": "2"}, 400),
        ({"code": 451, "unknown": 1}, 400),
    ],
)
async def test_a_bad_fault_is_a_problem(app: ASGIApp, spec: dict[str, Any], status: int) -> None:
    async with lab(app) as client:
        response = await client.post("/api/v1/faults", json=spec)
        pending = (await client.get("/api/v1/faults")).json()["faults"]

    assert (response.status_code, response.headers["content-type"]) == (status, "application/problem+json")
    assert pending == []


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [(b"{", "application/json", 400), (b"[]", "application/json", 400), (b"code=451", "text/plain", 415)],
)
async def test_a_fault_body_that_is_not_a_json_object_is_a_problem(
    app: ASGIApp, body: bytes, content_type: str, status: int
) -> None:
    async with lab(app) as client:
        response = await client.post("/api/v1/faults", content=body, headers={"content-type": content_type})

    assert (response.status_code, response.headers["content-type"]) == (status, "application/problem+json")


async def test_at_most_max_faults_are_pending() -> None:
    app = create_app(create_sink(10), lab_token(TOKENS), HOST, closed_port())
    async with lab(app) as client:
        for _ in range(MAX_FAULTS):
            await client.post("/api/v1/faults", json={"code": 451})
        response = await client.post("/api/v1/faults", json={"code": 451})

    assert (response.status_code, response.json()["code"]) == (409, "too_many_faults")
