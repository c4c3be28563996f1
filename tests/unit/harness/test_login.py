"""The generic gateway login: against an in-process fake GatewayService, with codes mailed after a delay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from galaxy_contracts.gateway import GatewayClient, pb, pb_grpc
from tests.harness.keys import unique_challenge_id, unique_email, unique_session_id, unique_user_id
from tests.harness.login import log_in, start_login
from tests.harness.login_codes import with_code
from tests.harness.waits import eventually_async

MAIL_DELAY = 0.05
EXPIRES_IN = timedelta(minutes=10)


class FakeMail:
    """A :class:`tests.harness.login_codes.LoginCodes` whose codes arrive a little after the start."""

    def __init__(self) -> None:
        self.mailed: dict[str, list[str]] = {}
        self._pending: set[asyncio.Task[None]] = set()

    def mail_later(self, email: str, code: str) -> None:
        task = asyncio.create_task(self._mail(email, code))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _mail(self, email: str, code: str) -> None:
        await asyncio.sleep(MAIL_DELAY)
        self.mailed.setdefault(email, []).append(code)

    async def count(self, email: str) -> int:
        return len(self.mailed.get(email, []))

    async def nth(self, email: str, index: int) -> str:
        async def mailed() -> str:
            codes = self.mailed.get(email, [])
            assert len(codes) > index, f"{len(codes)} codes, waiting for #{index + 1}"
            return codes[index]

        return await eventually_async(mailed, within=2, what="code", interval=0.005)


class FakeGateway(pb_grpc.GatewayServiceServicer):
    """StartLogin mails a new code per challenge; ConfirmLogin accepts only that challenge's code."""

    def __init__(self, mail: FakeMail) -> None:
        self._mail = mail
        self._codes: dict[str, str] = {}
        self.expires_at = datetime.now(UTC).replace(microsecond=0) + EXPIRES_IN

    async def StartLogin(
        self, request: pb.StartLoginRequest, context: grpc.aio.ServicerContext
    ) -> pb.StartLoginResponse:
        challenge_id = unique_challenge_id()
        self._codes[challenge_id] = f"{100_000 + len(self._codes)}"
        self._mail.mail_later(request.email, self._codes[challenge_id])
        answer = pb.StartLoginResponse(challenge_id=challenge_id)
        answer.expires_at.FromDatetime(self.expires_at)
        return answer

    async def ConfirmLogin(
        self, request: pb.ConfirmLoginRequest, context: grpc.aio.ServicerContext
    ) -> pb.ConfirmLoginResponse:
        if self._codes.get(request.challenge_id) != request.code:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "wrong login code")
        return pb.ConfirmLoginResponse(
            session_token=f"token-for-{request.challenge_id}",
            session_id=unique_session_id(),
            user_id=unique_user_id(),
            new_account=True,
        )


@pytest.fixture
def mail() -> FakeMail:
    return FakeMail()


@pytest.fixture
def fake(mail: FakeMail) -> FakeGateway:
    return FakeGateway(mail)


@pytest.fixture
async def gateway(fake: FakeGateway) -> AsyncIterator[GatewayClient]:
    server = grpc.aio.server()
    pb_grpc.add_GatewayServiceServicer_to_server(fake, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with GatewayClient(f"127.0.0.1:{port}") as client:
        yield client
    await server.stop(None)


async def test_start_login_reads_the_code_mailed_for_this_challenge(gateway: GatewayClient, mail: FakeMail) -> None:
    email = unique_email()
    earlier = await start_login(gateway, mail, email)

    started = await start_login(gateway, mail, email)

    assert started.code != earlier.code
    assert mail.mailed[email] == [earlier.code, started.code]


async def test_start_login_answers_the_challenge_and_its_expiry(
    gateway: GatewayClient, mail: FakeMail, fake: FakeGateway
) -> None:
    email = unique_email()

    started = await start_login(gateway, mail, email)

    assert (started.email, started.expires_at) == (email, fake.expires_at)
    assert started.challenge_id.startswith("c_")


async def test_log_in_confirms_with_the_mailed_code(gateway: GatewayClient, mail: FakeMail) -> None:
    email = unique_email()
    await start_login(gateway, mail, email)  # an older code of the same address is not the one used

    session = await log_in(gateway, mail, email)

    assert session.session_token.startswith("token-for-c_")


async def test_with_code_waits_for_the_code_of_the_new_start(mail: FakeMail) -> None:
    email = unique_email()
    mail.mailed[email] = ["111111"]

    async def start() -> str:
        mail.mail_later(email, "222222")
        return "started"

    assert await with_code(mail, email, start) == ("started", "222222")
