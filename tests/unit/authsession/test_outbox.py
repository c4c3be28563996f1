"""The welcome outbox (contracts/redis/keys.md): whatever fails between User Service creating an account and
the session being opened (a Redis error, the process dying, User Service down for the relay, the relay's own
write), the account's ``account.welcome`` intent is written eventually, exactly once here and always with the
one intent id of that account."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from typing import Any, cast

import fakeredis
import httpx
import pytest
from prometheus_client import REGISTRY
from redis.exceptions import ConnectionError as RedisConnectionError

from galaxy.authsession.adapters.challenges import OUTBOX, RedisChallengeStore
from galaxy.authsession.domain.model import account_welcome, welcome_intent_id
from galaxy.authsession.domain.service import LoginService
from galaxy.authsession.main import Wired, create_admin, create_login
from galaxy.authsession.settings import Settings
from galaxy.authsession.transport.outbox import Relay
from galaxy.common.redis import connect
from galaxy_contracts import redis_keys, streams
from tests.harness.waits import eventually_async
from tests.unit.authsession.fakes import FakeClock, FakeMailService, FakeUserService
from tests.unit.authsession.helpers import Login
from tests.unit.common.ports import listening

LEASE = 2 * 0.5 + 5  # a claim's lease with the fixtures' 0.5 s downstream timeout: when a left note is due


@pytest.fixture
def service(wired: Wired) -> LoginService:
    return wired.service


@pytest.fixture
def store(service: LoginService) -> RedisChallengeStore:
    return cast(RedisChallengeStore, service.challenges)


async def welcomes(redis: fakeredis.FakeAsyncRedis) -> list[dict[str, str]]:
    entries = await redis.xrange(redis_keys.NOTIFICATION_INTENTS)
    return [fields for _, fields in entries if fields["type"] == "account.welcome"]


async def pending(redis: fakeredis.FakeAsyncRedis) -> int:
    return int(await redis.zcard(OUTBOX))


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def fail_once(monkeypatch: pytest.MonkeyPatch, target: object, name: str) -> list[int]:
    """``target.name`` raises a Redis connection error on its first call (the script never ran), then works."""
    original = getattr(target, name)
    calls: list[int] = []

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RedisConnectionError("connection lost")
        return await original(*args, **kwargs)

    monkeypatch.setattr(target, name, flaky)
    return calls


async def confirm_failing_at_the_session(
    login: Login, store: RedisChallengeStore, monkeypatch: pytest.MonkeyPatch, email: str = "ada@example.com"
) -> tuple[str, str]:
    """A first login whose session script fails after User Service created the account."""
    challenge_id, code = await login.start(email)
    fail_once(monkeypatch, store, "complete")
    response = await login.confirm(challenge_id, code)
    assert response.status_code == 503, response.text
    return challenge_id, code


async def test_a_completed_login_leaves_no_note(login: Login, redis: fakeredis.FakeAsyncRedis) -> None:
    challenge_id, code = await login.start()

    assert (await login.confirm(challenge_id, code)).status_code == 200

    assert await pending(redis) == 0
    assert len(await welcomes(redis)) == 1


async def test_a_failed_session_write_still_ends_in_one_welcome(
    login: Login,
    store: RedisChallengeStore,
    service: LoginService,
    users: FakeUserService,
    clock: FakeClock,
    redis: fakeredis.FakeAsyncRedis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await confirm_failing_at_the_session(login, store, monkeypatch)
    user_id = users.accounts["ada@example.com"]["user_id"]
    assert await welcomes(redis) == []
    assert await service.relay_welcomes() == 0  # the claim's lease still runs: the confirm may yet finish

    clock.advance(LEASE)
    assert await service.relay_welcomes() == 1

    [welcome] = await welcomes(redis)
    streams.validate(redis_keys.NOTIFICATION_INTENTS, welcome)
    assert (welcome["user_id"], welcome["intent_id"]) == (user_id, welcome_intent_id(user_id))
    assert await pending(redis) == 0
    clock.advance(LEASE)
    assert await service.relay_welcomes() == 0
    assert len(await welcomes(redis)) == 1


async def test_a_process_dying_after_the_account_was_created_is_relayed_by_the_next(
    login: Login,
    store: RedisChallengeStore,
    settings: Settings,
    users: FakeUserService,
    mail: FakeMailService,
    clock: FakeClock,
    redis: fakeredis.FakeAsyncRedis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    challenge_id, code = await login.start()
    reached = asyncio.Event()

    async def never_returns(*_: object, **__: object) -> bool:
        reached.set()
        await asyncio.Event().wait()
        return True

    monkeypatch.setattr(store, "complete", never_returns)
    confirm = asyncio.create_task(login.confirm(challenge_id, code))
    await asyncio.wait_for(reached.wait(), timeout=10)
    confirm.cancel()  # the process dies: nothing after the account's creation runs
    with contextlib.suppress(asyncio.CancelledError):
        await confirm
    assert "ada@example.com" in users.accounts
    assert await welcomes(redis) == []

    async with restarted(settings, redis, users, mail, clock) as service:
        clock.advance(LEASE)
        assert await service.relay_welcomes() == 1

    [welcome] = await welcomes(redis)
    assert welcome["user_id"] == users.accounts["ada@example.com"]["user_id"]


@contextlib.asynccontextmanager
async def restarted(
    settings: Settings, redis: fakeredis.FakeAsyncRedis, users: FakeUserService, mail: FakeMailService, clock: FakeClock
) -> AsyncIterator[LoginService]:
    """Another process's use cases over the same Redis."""
    wired = create_login(
        settings, redis, user_transport=users.transport(), mail_transport=mail.transport(), clock=clock
    )
    try:
        yield wired.service
    finally:
        for client in wired.clients:
            await client.aclose()


async def test_confirming_again_after_a_failure_writes_the_welcome_itself(
    login: Login,
    store: RedisChallengeStore,
    service: LoginService,
    clock: FakeClock,
    redis: fakeredis.FakeAsyncRedis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    challenge_id, code = await confirm_failing_at_the_session(login, store, monkeypatch)
    clock.advance(LEASE)  # the failed confirm's claim has lapsed; the user tries the same code again

    response = await login.confirm(challenge_id, code)

    assert response.status_code == 200
    [welcome] = await welcomes(redis)
    assert welcome["user_id"] == response.json()["user_id"]
    assert await pending(redis) == 0
    clock.advance(LEASE)
    assert await service.relay_welcomes() == 0
    assert len(await welcomes(redis)) == 1


async def test_a_known_accounts_left_note_is_settled_without_a_welcome(
    login: Login,
    store: RedisChallengeStore,
    service: LoginService,
    users: FakeUserService,
    clock: FakeClock,
    redis: fakeredis.FakeAsyncRedis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    users.seed("old@example.com")
    clock.advance(2 * 3600)  # the account is older than the login by more than the allowed clock skew
    await confirm_failing_at_the_session(login, store, monkeypatch, "old@example.com")

    clock.advance(LEASE)
    assert await service.relay_welcomes() == 1

    assert await welcomes(redis) == []
    assert await pending(redis) == 0


async def test_user_service_down_keeps_the_note_until_it_is_back(
    login: Login,
    store: RedisChallengeStore,
    service: LoginService,
    users: FakeUserService,
    clock: FakeClock,
    redis: fakeredis.FakeAsyncRedis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await confirm_failing_at_the_session(login, store, monkeypatch)
    users.down = True
    clock.advance(LEASE)

    assert await service.relay_welcomes() == 0
    assert (await pending(redis), await welcomes(redis)) == (1, [])

    users.down = False
    clock.advance(LEASE)  # a note whose attempt failed is due again one lease later
    assert await service.relay_welcomes() == 1
    assert len(await welcomes(redis)) == 1
    assert await pending(redis) == 0


async def test_a_failed_relay_write_is_retried_and_writes_once(
    login: Login,
    store: RedisChallengeStore,
    service: LoginService,
    clock: FakeClock,
    redis: fakeredis.FakeAsyncRedis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await confirm_failing_at_the_session(login, store, monkeypatch)
    relay = Relay(service, interval_seconds=0.05, first_backoff_seconds=0.001)
    calls = fail_once(monkeypatch, store, "settle_welcome")
    clock.advance(LEASE)

    await relay.relay_once()  # the write fails; the pass is retried (the taken note waits out its lease)
    clock.advance(LEASE)
    await relay.relay_once()

    assert len(calls) == 2
    assert len(await welcomes(redis)) == 1
    assert await pending(redis) == 0


async def test_metrics_show_the_outbox_depth_and_the_relayed_welcomes(
    login: Login,
    store: RedisChallengeStore,
    service: LoginService,
    clock: FakeClock,
    settings: Settings,
    redis: fakeredis.FakeAsyncRedis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    relayed = metric("galaxy_authsession_welcomes_relayed_total")
    await confirm_failing_at_the_session(login, store, monkeypatch)

    await service.relay_welcomes()
    assert metric("galaxy_authsession_welcome_outbox_pending") == 1
    clock.advance(LEASE)
    await service.relay_welcomes()

    assert metric("galaxy_authsession_welcome_outbox_pending") == 0
    assert metric("galaxy_authsession_welcomes_relayed_total") == relayed + 1
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(create_admin(settings, redis)), base_url="http://a"
    ) as a:
        text = (await a.get("/metrics")).text
    assert "galaxy_authsession_welcome_outbox_pending 0.0" in text


def test_a_welcome_has_one_intent_id_per_account() -> None:
    ada, bob = f"u_{'a' * 32}", f"u_{'b' * 32}"

    assert account_welcome(ada, now=1).intent_id == account_welcome(ada, now=2).intent_id
    assert account_welcome(ada, now=1).intent_id != account_welcome(bob, now=1).intent_id
    assert re.fullmatch(r"i_[0-9a-f]{32}", welcome_intent_id(ada))


async def test_healthz_names_the_relay_and_is_ready_only_while_it_runs(
    service: LoginService, settings: Settings, redis: fakeredis.FakeAsyncRedis
) -> None:
    relay = Relay(service, interval_seconds=0.05)

    async def healthz() -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(create_admin(settings.model_copy(update={"port": port}), redis, relay)),
            base_url="http://a",
        ) as admin:
            return await admin.get("/healthz")

    with listening() as port:
        stopped = await healthz()
        task = asyncio.create_task(relay.run())
        try:
            running = await eventually_async(_ready(healthz), within=10, what="relay running")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    assert stopped.status_code == 503
    assert stopped.json()["checks"]["welcome_relay"].startswith("down")
    assert running.json()["checks"]["welcome_relay"] == "up"


def _ready(healthz: Any) -> Any:
    async def check() -> httpx.Response:
        response: httpx.Response = await healthz()
        assert response.status_code == 200, response.text
        return response

    return check


async def test_the_relay_stops_promptly_while_redis_is_down(
    settings: Settings,
    users: FakeUserService,
    mail: FakeMailService,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    down = connect("redis://127.0.0.1:1/0")
    wired = create_login(settings, down, user_transport=users.transport(), mail_transport=mail.transport(), clock=clock)
    relay = Relay(wired.service, interval_seconds=0.05, first_backoff_seconds=0.01)
    caplog.set_level(logging.WARNING, logger="galaxy.authsession.transport.outbox")
    task = asyncio.create_task(relay.run())

    async def retried() -> None:
        assert len([r for r in caplog.records if r.getMessage() == "welcome relay pass failed; retrying"]) >= 2

    try:
        await eventually_async(retried, within=10, what="relay retrying")
    finally:
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        await down.aclose()
        for client in wired.clients:
            await client.aclose()

    assert done == {task}
    assert task.cancelled()
    assert relay.running is False


class SwallowsCancellation:
    """Use cases whose Redis client turns the first cancellation into a connection error (seen under load);
    later ones pass, so a relay that missed the stop can still be stopped by the test."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.swallowed = False

    async def relay_welcomes(self) -> int:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if self.swallowed:
                raise
            self.swallowed = True
            raise RedisConnectionError("connection closed by cancellation") from None
        return 0


async def test_the_relay_stops_when_a_cancellation_comes_back_as_a_redis_error() -> None:
    service = SwallowsCancellation()
    relay = Relay(cast(LoginService, service), interval_seconds=0.05, first_backoff_seconds=0.01)
    task = asyncio.create_task(relay.run())
    await asyncio.wait_for(service.started.wait(), timeout=10)

    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)

    if not done:  # a relay that retried past the stop: stop it for good before failing
        task.cancel()
        await asyncio.wait({task}, timeout=5)
    assert service.swallowed
    assert done == {task}
    assert task.cancelled()
