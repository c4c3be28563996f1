"""The sink's HTTP API: list, search, read, delete, wait; its auth and its bad-input answers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from galaxylab.sink.main import create_app, create_sink, lab_token
from tests.harness.waits import until_async
from tests.unit.common.ports import closed_port
from tests.unit.sink.conftest import client
from tests.unit.sink.mail import message, send, smtp, wire
from tests.unit.sink.running import TOKENS, RunningSink, running_sink

DEADLINE_SECONDS = 10.0


async def search(api: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/messages", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["messages"]
    return found


async def subjects(api: httpx.AsyncClient, **params: Any) -> list[str]:
    return [m["subject"] for m in await search(api, **params)]


async def status(api: httpx.AsyncClient) -> dict[str, Any]:
    body: dict[str, Any] = (await api.get("/api/v1/status")).json()
    return body


@pytest.fixture
def app() -> ASGIApp:
    """The API alone, in process (no ports): for what does not need a message to arrive."""
    return create_app(create_sink(10), lab_token(TOKENS), "127.0.0.1", closed_port())


def in_process(app: ASGIApp, caller: str | None = "lab", token: str | None = None) -> httpx.AsyncClient:
    token = token or (TOKENS[caller] if caller else None)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sink", headers=headers)


# --- list and search -------------------------------------------------------------------------------


async def test_messages_are_listed_newest_first_up_to_the_limit(smtp_port: int, api: httpx.AsyncClient) -> None:
    for n in range(4):
        await send(smtp_port, message(subject=f"n{n}"))

    assert await subjects(api) == ["n3", "n2", "n1", "n0"]
    assert await subjects(api, limit=2) == ["n3", "n2"]


@pytest.fixture
async def mixed(smtp_port: int) -> None:
    """Three messages that differ in one criterion each from the first."""
    await send(
        smtp_port,
        message(subject="Your login code", text="code 111111", X_Galaxy_Template="auth.login_code"),
        ["ada@example.com", "audit@example.com"],
    )
    await send(
        smtp_port,
        message(
            to="bob@example.com",
            subject="Welcome aboard",
            text="plain only",
            html="<p>Welcome, <b>Bob</b></p>",
            sender="hello@example.com",
            X_Galaxy_Template="account.welcome",
        ),
    )
    await send(smtp_port, message(to="Ada Lovelace <ADA@example.com>", subject="Second code", text="code 222222"))


@pytest.mark.usefixtures("mixed")
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"to": "ada@example.com"}, ["Second code", "Your login code"]),
        ({"to": "audit@EXAMPLE.com"}, ["Your login code"]),  # envelope only (a Bcc)
        ({"to": "da@example.com"}, []),  # an address, not a substring
        ({"from": "hello@example.com"}, ["Welcome aboard"]),
        ({"subject": "CODE"}, ["Second code", "Your login code"]),
        ({"header": "X-Galaxy-Template=auth.login_code"}, ["Your login code"]),
        ({"header": "x-galaxy-template=account.welcome"}, ["Welcome aboard"]),
        ({"header": "X-Galaxy-Template=auth"}, []),  # the exact value
        ({"body": "222222"}, ["Second code"]),
        ({"body": "<b>bob</b>"}, ["Welcome aboard"]),  # the HTML part too
        ({"to": "ada@example.com", "body": "111111"}, ["Your login code"]),
        ({"to": "bob@example.com", "subject": "code"}, []),
        ({"after": 1}, ["Second code", "Welcome aboard"]),
    ],
)
async def test_search(api: httpx.AsyncClient, params: dict[str, Any], expected: list[str]) -> None:
    assert await subjects(api, **params) == expected


async def test_several_header_criteria_must_all_hold(smtp_port: int, api: httpx.AsyncClient) -> None:
    await send(smtp_port, message(subject="both", X_A="1", X_B="2"))
    await send(smtp_port, message(subject="one", X_A="1"))

    found = await subjects(api, header=["X-A=1", "X-B=2"])

    assert found == ["both"]


# --- one message -----------------------------------------------------------------------------------


async def test_a_message_reads_parsed(smtp_port: int, api: httpx.AsyncClient) -> None:
    msg = message(
        to="Ada <ada@example.com>",
        subject="Grüße aus Galaxy",
        text="Your code is 123456.",
        html="<p>Your code is <b>123456</b>.</p>",
        Cc="bob@example.com",
        Message_ID="<code-1@galaxy.example>",
    )
    size = len(wire(msg))  # fixes the multipart boundary
    await send(smtp_port, msg)
    (listed,) = await search(api)

    detail = (await api.get(f"/api/v1/messages/{listed['id']}")).json()

    assert detail | {"headers": None, "received": None} == listed | {
        "headers": None,
        "received": None,
        "text": "Your code is 123456.\r\n",
        "html": "<p>Your code is <b>123456</b>.</p>\r\n",
    }
    assert (detail["subject"], detail["message_id"], detail["from"], detail["to"], detail["cc"]) == (
        "Grüße aus Galaxy",
        "<code-1@galaxy.example>",
        "galaxy@example.com",
        ["ada@example.com"],
        ["bob@example.com"],
    )
    assert {"name": "Subject", "value": "Grüße aus Galaxy"} in detail["headers"]
    assert detail["size"] == size


async def test_the_raw_message_is_message_rfc822(smtp_port: int, api: httpx.AsyncClient) -> None:
    msg = message()
    await send(smtp_port, msg)
    (listed,) = await search(api)

    response = await api.get(f"/api/v1/messages/{listed['id']}/raw")

    assert response.headers["content-type"] == "message/rfc822"
    assert response.content == wire(msg)


async def test_a_malformed_message_is_kept_and_reads_without_crashing(smtp_port: int, api: httpx.AsyncClient) -> None:
    broken = (
        b"Subject: =?bogus-charset?q?x?=\r\nTo: not an address, <@>\r\nContent-Type: text/plain; charset=nope\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n!!! not base64 \xff\r\n"
    )
    await send_raw(smtp_port, broken)
    (listed,) = await search(api)

    detail = await api.get(f"/api/v1/messages/{listed['id']}")

    assert detail.status_code == 200
    assert (await api.get(f"/api/v1/messages/{listed['id']}/raw")).content == broken


async def send_raw(port: int, data: bytes) -> None:
    await smtp(port, lambda c: c.sendmail("galaxy@example.com", ["ada@example.com"], data))


@pytest.mark.parametrize("path", ["/api/v1/messages/m_0000000000000000", "/api/v1/messages/nope/raw"])
async def test_an_unknown_message_is_a_404_problem(api: httpx.AsyncClient, path: str) -> None:
    response = await api.get(path)

    assert (response.status_code, response.headers["content-type"]) == (404, "application/problem+json")
    assert response.json()["code"] == "message_not_found"


async def test_delete_all(smtp_port: int, api: httpx.AsyncClient) -> None:
    await send(smtp_port, message())
    (listed,) = await search(api)

    deleted = await api.delete("/api/v1/messages")

    assert deleted.status_code == 204
    assert await search(api) == []
    assert (await api.get(f"/api/v1/messages/{listed['id']}")).status_code == 404
    assert (await status(api))["last_seq"] == 1  # sequence numbers never go back


async def test_only_the_newest_max_messages_are_kept_and_the_dropped_counted(api: httpx.AsyncClient) -> None:
    async with running_sink(max_messages=3) as small, client(small.api_url) as small_api:
        for n in range(5):
            await send(small.smtp_port, message(subject=f"n{n}"))

        kept = await subjects(small_api)
        counts = await status(small_api)

    assert kept == ["n4", "n3", "n2"]
    assert (counts["messages"], counts["evicted"], counts["last_seq"], counts["max_messages"]) == (3, 2, 5, 3)


# --- wait ------------------------------------------------------------------------------------------


async def waiting(api: httpx.AsyncClient, sink: RunningSink, **params: Any) -> asyncio.Task[httpx.Response]:
    """A wait request in flight, once the sink holds it (so what arrives next is what it waits for)."""
    before = sink.sink.mailbox.waiters
    task = asyncio.create_task(api.get("/api/v1/wait", params=params, timeout=DEADLINE_SECONDS + 60))

    async def held() -> bool:
        if task.done():
            return True
        return sink.sink.mailbox.waiters > before

    await until_async(held, within=DEADLINE_SECONDS, what="the wait request held by the sink", interval=0.01)
    return task


async def test_wait_answers_as_soon_as_a_matching_message_arrives(running: RunningSink, api: httpx.AsyncClient) -> None:
    task = await waiting(api, running, to="ada@example.com", timeout=30)

    await send(running.smtp_port, message(to="bob@example.com", subject="other"))
    other_ended_it = task.done()
    started = time.monotonic()
    await send(running.smtp_port, message(to="ada@example.com", subject="awaited"))
    response = await asyncio.wait_for(task, DEADLINE_SECONDS)

    assert not other_ended_it
    assert response.status_code == 200
    assert [m["subject"] for m in response.json()["messages"]] == ["awaited"]
    assert time.monotonic() - started < DEADLINE_SECONDS
    assert running.sink.mailbox.waiters == 0


async def test_wait_answers_at_once_for_a_message_already_there(smtp_port: int, api: httpx.AsyncClient) -> None:
    await send(smtp_port, message(text="code 123456"))

    response = await api.get("/api/v1/wait", params={"body": "123456", "timeout": 30})

    (found,) = response.json()["messages"]
    assert (found["subject"], found["text"]) == ("Your code", "code 123456\r\n")
    assert {"name": "To", "value": "ada@example.com"} in found["headers"]


async def test_wait_for_a_count_answers_the_first_ones_oldest_first(
    running: RunningSink, api: httpx.AsyncClient
) -> None:
    await send(running.smtp_port, message(subject="first"))
    task = await waiting(api, running, to="ada@example.com", count=2, timeout=30)
    one_was_enough = task.done()

    await send(running.smtp_port, message(subject="second"))
    await send(running.smtp_port, message(subject="third"))
    response = await asyncio.wait_for(task, DEADLINE_SECONDS)

    assert not one_was_enough
    assert [m["subject"] for m in response.json()["messages"]] == ["first", "second"]


async def test_wait_after_a_sequence_number_ignores_older_messages(
    running: RunningSink, api: httpx.AsyncClient
) -> None:
    await send(running.smtp_port, message(subject="old"))
    mark = (await status(api))["last_seq"]

    task = await waiting(api, running, to="ada@example.com", after=mark, timeout=30)
    old_was_enough = task.done()
    await send(running.smtp_port, message(subject="new"))
    response = await asyncio.wait_for(task, DEADLINE_SECONDS)

    assert not old_was_enough
    assert [m["subject"] for m in response.json()["messages"]] == ["new"]


async def test_wait_times_out_with_a_408_problem(smtp_port: int, api: httpx.AsyncClient) -> None:
    await send(smtp_port, message(to="ada@example.com"))

    started = time.monotonic()
    response = await api.get("/api/v1/wait", params={"to": "ada@example.com", "count": 2, "timeout": 0.2})
    elapsed = time.monotonic() - started

    assert (response.status_code, response.headers["content-type"]) == (408, "application/problem+json")
    assert response.json()["code"] == "wait_timeout"
    assert "1 of 2" in response.json()["detail"]
    assert 0.2 <= elapsed < DEADLINE_SECONDS


async def test_a_caller_that_leaves_frees_its_wait(running: RunningSink, api: httpx.AsyncClient) -> None:
    with pytest.raises(httpx.ReadTimeout):
        await api.get("/api/v1/wait", params={"to": "nobody@example.com", "timeout": 60}, timeout=0.3)

    async def freed() -> bool:
        return running.sink.mailbox.waiters == 0

    await until_async(freed, within=DEADLINE_SECONDS, what="the abandoned wait released")


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/api/v1/messages", {"subjet": "x"}, 400, "malformed_query"),
        ("/api/v1/messages", [("to", "a@example.com"), ("to", "b@example.com")], 400, "malformed_query"),
        ("/api/v1/messages", {"limit": "many"}, 422, "validation_failed"),
        ("/api/v1/messages", {"limit": 0}, 422, "validation_failed"),
        ("/api/v1/messages", {"limit": 1001}, 422, "validation_failed"),
        ("/api/v1/messages", {"after": -1}, 422, "validation_failed"),
        ("/api/v1/messages", {"header": "no-equals-sign"}, 422, "validation_failed"),
        ("/api/v1/messages", {"header": "Bad:Name=x"}, 422, "validation_failed"),
        ("/api/v1/messages", {"to": ""}, 422, "validation_failed"),
        ("/api/v1/messages", {"count": 2}, 400, "malformed_query"),
        ("/api/v1/wait", {"timeout": 61}, 422, "validation_failed"),
        ("/api/v1/wait", {"timeout": 0}, 422, "validation_failed"),
        ("/api/v1/wait", {"timeout": "soon"}, 422, "validation_failed"),
        ("/api/v1/wait", {"count": 0}, 422, "validation_failed"),
        ("/api/v1/wait", {"limit": 5}, 400, "malformed_query"),
        ("/api/v1/attempts", {"after": "x"}, 422, "validation_failed"),
        ("/api/v1/nothing-here", {}, 404, "not_found"),
    ],
)
async def test_bad_queries_are_problems(app: ASGIApp, path: str, params: Any, status: int, code: str) -> None:
    async with in_process(app) as lab:
        response = await lab.get(path, params=params)

    assert (response.status_code, response.headers["content-type"]) == (status, "application/problem+json")
    assert response.json()["code"] == code


async def test_a_wrong_method_is_a_405_problem(app: ASGIApp) -> None:
    async with in_process(app) as lab:
        response = await lab.put("/api/v1/messages")

    assert (response.status_code, response.json()["code"]) == (405, "method_not_allowed")


# --- auth, health, metrics -------------------------------------------------------------------------

ROUTES = [
    ("GET", "/api/v1/messages"),
    ("DELETE", "/api/v1/messages"),
    ("GET", "/api/v1/messages/m_0000000000000000"),
    ("GET", "/api/v1/messages/m_0000000000000000/raw"),
    ("GET", "/api/v1/wait"),
    ("GET", "/api/v1/faults"),
    ("POST", "/api/v1/faults"),
    ("DELETE", "/api/v1/faults"),
    ("DELETE", "/api/v1/faults/f_0000000000000000"),
    ("GET", "/api/v1/attempts"),
    ("DELETE", "/api/v1/attempts"),
    ("GET", "/api/v1/status"),
    ("POST", "/api/v1/reset"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    ("caller", "token", "status"),
    [(None, None, 401), (None, "not-a-token", 401), ("gateway", None, 403), ("authsession", None, 403)],
    ids=["no-token", "unknown-token", "gateway-token", "authsession-token"],
)
async def test_every_route_takes_the_lab_token_only(
    app: ASGIApp, method: str, path: str, caller: str | None, token: str | None, status: int
) -> None:
    async with in_process(app, caller, token) as other:
        response = await other.request(method, path, json={"code": 451})

    assert (response.status_code, response.headers["content-type"]) == (status, "application/problem+json")
    assert response.json()["code"] == {401: "unauthorized", 403: "forbidden"}[status]
    assert TOKENS["lab"] not in response.text


async def test_a_refused_caller_changes_nothing(app: ASGIApp) -> None:
    async with in_process(app, "gateway") as gateway, in_process(app) as lab:
        await gateway.post("/api/v1/faults", json={"code": 451})
        faults = (await lab.get("/api/v1/status")).json()["faults"]

    assert faults == 0


async def test_healthz_is_ready_while_smtp_greets(running: RunningSink) -> None:
    async with client(running.api_url, None) as anonymous:
        response = await anonymous.get("/healthz")

    assert (response.status_code, response.json()["checks"]) == (200, {"smtp": "up"})


async def test_healthz_is_not_ready_without_the_smtp_listener(app: ASGIApp) -> None:
    async with in_process(app, None) as anonymous:
        response = await anonymous.get("/healthz")

    assert (response.status_code, response.json()["checks"]["smtp"]) == (503, "down: ConnectionRefusedError")


async def test_metrics_count_the_smtp_replies(running: RunningSink) -> None:
    await send(running.smtp_port, message())

    async with client(running.api_url, None) as anonymous:
        response = await anonymous.get("/metrics")

    assert response.status_code == 200
    assert 'galaxylab_sink_smtp_replies_total{outcome="accepted",stage="data"}' in response.text
