"""Login codes read from real mail: the SMTP sink's messages or Mail Service's operator surface.

Both implement :class:`tests.harness.login_codes.LoginCodes`. The code is the
6-digit number (DESIGN §2) of the ``auth.login_code`` mail (the direct template
of contracts/http/mail.openapi.yaml), found in the plain-text part; a mail with
no such number, or with two different ones, fails the test.
"""

from __future__ import annotations

import re

from galaxy_contracts.http import OperatorClient
from galaxy_contracts.models import RenderedDelivery
from tests.harness.login_codes import TEMPLATE
from tests.harness.sink import SinkMessageSummary, SmtpSink
from tests.harness.waits import eventually_async

# Mail Service names the template of every message in this header (mail.openapi.yaml, the sink README).
TEMPLATE_HEADER = "X-Galaxy-Template"
MAIL_TIMEOUT = 15.0
LIST_LIMIT = 1000
_CODE = re.compile(r"(?<![0-9A-Za-z])[0-9]{6}(?![0-9A-Za-z])")


def code_in(text: str) -> str:
    """The one 6-digit login code in ``text``."""
    found: set[str] = set(_CODE.findall(text))
    assert len(found) == 1, f"expected one 6-digit code in the mail, found {len(found)}"
    return found.pop()


class SinkCodes:
    """:class:`LoginCodes` as the SMTP sink received them (real SMTP delivery)."""

    def __init__(self, sink: SmtpSink, *, within: float = MAIL_TIMEOUT) -> None:
        self._sink = sink
        self._within = within

    async def mails(self, email: str) -> list[SinkMessageSummary]:
        """The ``auth.login_code`` mails to ``email``, oldest first."""
        found = await self._sink.messages(to=email, headers={TEMPLATE_HEADER: TEMPLATE}, limit=LIST_LIMIT)
        return sorted(found, key=lambda m: m.seq)

    async def count(self, email: str) -> int:
        return len(await self.mails(email))

    async def nth(self, email: str, index: int) -> str:
        mails = await self._sink.wait(
            to=email, headers={TEMPLATE_HEADER: TEMPLATE}, count=index + 1, timeout=self._within
        )
        return code_in(mails[index].text or "")


class OperatorCodes:
    """:class:`LoginCodes` as Mail Service rendered them, read through its operator surface."""

    def __init__(self, operator: OperatorClient, *, within: float = MAIL_TIMEOUT) -> None:
        self._operator = operator
        self._within = within

    async def deliveries(self, email: str) -> list[RenderedDelivery]:
        """The ``auth.login_code`` deliveries to ``email``, oldest first."""
        found = await self._operator.deliveries(to=email, template=TEMPLATE, limit=200)
        return sorted(found, key=lambda d: d.created_at)

    async def count(self, email: str) -> int:
        return len(await self.deliveries(email))

    async def nth(self, email: str, index: int) -> str:
        async def rendered() -> str:
            deliveries = await self.deliveries(email)
            assert len(deliveries) > index, (
                f"{len(deliveries)} {TEMPLATE} deliveries to {email}, waiting for #{index + 1}"
            )
            return code_in(deliveries[index].text_body)

        return await eventually_async(rendered, within=self._within, what=f"login code delivery to {email}")
