"""Login codes as the mail stub recorded them: authsession's ``POST /v1/deliveries`` of ``auth.login_code``.

The code is the ``code`` parameter of the delivery (contracts/http/authsession.openapi.yaml
sends template ``auth.login_code`` to Mail Service). Deliveries of one address are
kept oldest first, so the n-th code mailed to an address belongs to the n-th
challenge started for it; suites use a unique address per test
(tests.harness.keys) and start one challenge at a time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from tests.harness.stubs import StubControl, StubDelivery
from tests.harness.waits import eventually_async

TEMPLATE = "auth.login_code"
CODE_PARAM = "code"
MAIL_TIMEOUT = 5.0

T = TypeVar("T")


class LoginCodes(Protocol):
    """Where a suite reads the login codes mailed to an address (the mail stub, an SMTP sink, ...)."""

    async def count(self, email: str) -> int:
        """How many codes have been mailed to ``email`` so far."""
        ...

    async def nth(self, email: str, index: int) -> str:
        """The ``index``-th (0-based) code mailed to ``email``, waiting for it with a deadline."""
        ...


async def with_code(codes: LoginCodes, email: str, start: Callable[[], Awaitable[T]]) -> tuple[T, str]:
    """``start()`` (one new challenge for ``email``) and the code mailed for that challenge.

    One challenge at a time per address: the n-th code mailed belongs to the n-th challenge.
    """
    mailed_before = await codes.count(email)
    started = await start()
    return started, await codes.nth(email, mailed_before)


class MailStubCodes:
    """:class:`LoginCodes` recorded by the mail stub."""

    def __init__(self, mail_stub: StubControl) -> None:
        self._stub = mail_stub

    async def deliveries(self, email: str) -> list[StubDelivery]:
        wanted = email.lower()
        return [d for d in await self._stub.deliveries() if d.template == TEMPLATE and d.to.lower() == wanted]

    async def codes(self, email: str) -> list[str]:
        return [str(d.params[CODE_PARAM]) for d in await self.deliveries(email)]

    async def count(self, email: str) -> int:
        return len(await self.deliveries(email))

    async def nth(self, email: str, index: int, *, within: float = MAIL_TIMEOUT) -> str:
        """The ``index``-th (0-based) code mailed to ``email``, waiting for it up to ``within`` seconds."""

        async def mailed() -> str:
            codes = await self.codes(email)
            assert len(codes) > index, f"{len(codes)} {TEMPLATE} mails to {email}, waiting for #{index + 1}"
            return codes[index]

        return await eventually_async(mailed, within=within, what=f"login code mail to {email}")
