"""The typed clients' errors: what a caller learns when the callee is down, refuses, or says why it cannot serve."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

import httpx
import pytest

from galaxy_contracts.http import ApiError, Unavailable, UserClient, bounded
from tests.harness.waits import eventually_async

PROBLEM = {"type": "about:blank", "title": "Service Unavailable", "status": 503, "code": "upstream_unavailable"}


def client(answer: httpx.Response | Exception) -> UserClient:
    def handle(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, Exception):
            raise answer
        return answer

    return UserClient("http://user.test", "token", transport=httpx.MockTransport(handle))


async def failure(answer: httpx.Response | Exception) -> Unavailable:
    async with client(answer) as users:
        with pytest.raises(Unavailable) as caught:
            await users.get("u_" + "0" * 32)
    return caught.value


def problem_response(status: int = 503, **body: Any) -> httpx.Response:
    return httpx.Response(status, json=PROBLEM | {"status": status} | body)


async def test_a_5xx_problem_keeps_its_status_as_reason_and_its_detail_as_cause() -> None:
    error = await failure(problem_response(detail="the account store is unavailable; retry later"))

    assert error.reason == "HTTP 503"
    assert error.cause == "the account store is unavailable; retry later"
    assert error.problem is not None
    assert error.problem.code == "upstream_unavailable"
    assert str(error) == "user unavailable: the account store is unavailable; retry later"


async def test_a_5xx_problem_without_detail_gives_its_code() -> None:
    assert (await failure(problem_response())).cause == "upstream_unavailable"


@pytest.mark.parametrize(
    "answer", [httpx.Response(502, text="<html>bad gateway</html>"), httpx.Response(500)], ids=["html", "empty"]
)
async def test_a_5xx_without_a_problem_body_gives_the_status(answer: httpx.Response) -> None:
    error = await failure(answer)

    assert (error.problem, error.cause) == (None, f"HTTP {answer.status_code}")


async def test_the_callees_words_are_one_bounded_line() -> None:
    error = await failure(problem_response(detail="down\n\x1b[31mred\x1b[0m " + "x" * 500))

    assert "\n" not in error.cause
    assert "\x1b" not in error.cause
    assert error.cause.startswith("down")
    assert len(error.cause) <= 200


async def test_a_connection_failure_has_no_problem() -> None:
    error = await failure(httpx.ConnectError("refused"))

    assert (error.reason, error.problem, error.cause) == ("ConnectError", None, "ConnectError")


async def test_a_4xx_is_an_api_error_not_unavailable() -> None:
    async with client(problem_response(404, code="not_found")) as users:
        with pytest.raises(ApiError):
            await users.get("u_" + "0" * 32)


async def test_bounded_turns_a_slow_call_into_unavailable_naming_the_budget() -> None:
    with pytest.raises(Unavailable) as caught:
        await bounded("user", 0.05, asyncio.Event().wait())

    assert caught.value.reason == "no answer within 0.05s"


async def test_bounded_turns_an_off_contract_answer_into_unavailable() -> None:
    async with client(httpx.Response(200, json={"unexpected": True})) as users:
        with pytest.raises(Unavailable) as caught:
            await bounded("user", 2, users.get("u_" + "0" * 32))

    assert caught.value.reason == "answered outside its contract"


async def test_bounded_lets_a_refusal_through() -> None:
    async with client(problem_response(404, code="not_found")) as users:
        with pytest.raises(ApiError):
            await bounded("user", 2, users.get("u_" + "0" * 32))


# How long the slow callee takes to answer: its latency, not a wait for a condition (answering on an event
# instead made CPython 3.11.7 fail at session end with "AST constructor recursion depth mismatch").
CALLEE_LATENCY = 0.05


async def slow_not_found(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A callee that answers every request 404 after ``CALLEE_LATENCY`` (one connection at a time per request)."""
    body = b'{"type": "about:blank", "title": "Not Found", "status": 404, "code": "not_found"}'
    head = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/problem+json\r\ncontent-length: %d\r\n\r\n"
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):  # the client hung up
        while await reader.readuntil(b"\r\n\r\n"):
            await asyncio.sleep(CALLEE_LATENCY)
            writer.write(head % len(body) + body)
            await writer.drain()


async def test_calls_that_outlive_their_budget_under_pool_contention_leave_the_client_usable() -> None:
    # Cancelling an httpx request that waits for a pooled connection leaks the slot (httpcore 1.0.9): once
    # every slot is gone, every later call times out against a healthy callee (seen with the lab's TLS on).
    server = await asyncio.start_server(slow_not_found, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=2))
    try:
        async with UserClient(f"http://127.0.0.1:{port}", "token", timeout=2.0, transport=transport) as users:
            for _ in range(5):
                calls = [bounded("user", 0.01, users.get("u_" + "0" * 32)) for _ in range(10)]
                outcomes = await asyncio.gather(*calls, return_exceptions=True)
                assert any(isinstance(o, Unavailable) for o in outcomes)

            async def answered() -> None:
                with pytest.raises(ApiError):
                    await bounded("user", 1.0, users.get("u_" + "0" * 32))

            await eventually_async(
                answered, within=15, what="an answer once the slow calls have ended", retry_on=Unavailable
            )
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(("base_url", "loads"), [("http://user.test", 0), ("https://user.test", 1)])
async def test_only_an_https_callee_gets_the_ca_bundle_loaded(
    monkeypatch: pytest.MonkeyPatch, base_url: str, loads: int
) -> None:
    loaded: list[object] = []
    original = ssl.SSLContext.load_verify_locations

    def load_verify_locations(context: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loaded.append(args or kwargs)
        original(context, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", load_verify_locations)

    async with UserClient(base_url, "token"):
        pass

    assert len(loaded) == loads
