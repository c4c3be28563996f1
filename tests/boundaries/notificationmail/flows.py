"""What the notificationmail suite knows: seeded recipients, the catalog's e-mail types, the mail for an intent."""

from __future__ import annotations

from galaxy_contracts import streams
from galaxy_contracts.models import Account, Locale
from tests.harness.keys import unique_email, unique_name
from tests.harness.sink import SinkMessage, SmtpSink
from tests.harness.stubs import StubControl

TEMPLATE_HEADER = "X-Galaxy-Template"
MAIL_TIMEOUT = 20.0


class Recipients:
    def __init__(self, user_stub: StubControl, tag: str) -> None:
        self._stub = user_stub
        self._tag = tag

    async def seed(self, *, locale: Locale = "en", email_enabled: bool = True) -> Account:
        return await self._stub.seed_account(
            unique_email(self._tag), display_name=unique_name("Ada"), locale=locale, email_enabled=email_enabled
        )


def email_types() -> list[str]:
    return streams.email_types()


def template_of(intent_type: str) -> str:
    channel = streams.typed_catalog().types[intent_type].email
    assert channel is not None, f"{intent_type} has no email channel"
    return channel.template


def respects_preferences(intent_type: str) -> bool:
    return streams.typed_catalog().types[intent_type].respects_preferences


def always_mailed() -> str:
    """An e-mail type that ignores preferences (the catalog's first): a marker any recipient is sent."""
    found = [t for t in email_types() if not respects_preferences(t)]
    assert found, "the catalog has no e-mail type that ignores preferences"
    return found[0]


async def mail_of(sink: SmtpSink, account: Account, intent_type: str, *, after: int) -> SinkMessage:
    """The mail of ``intent_type``'s template to the account, waiting for it."""
    return await sink.wait_one(
        to=account.email, headers={TEMPLATE_HEADER: template_of(intent_type)}, after=after, timeout=MAIL_TIMEOUT
    )
