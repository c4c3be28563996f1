"""The auth-code mail through the real Mail Service over SMTP: one capture scenario, one concern per test.

Auth/Session's ``POST /v1/challenges`` makes it send ``auth.login_code`` to
Mail Service, which renders it and hands it to the SMTP sink; the suite reads
the message as any mail client would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr

import pytest

from galaxy_contracts.http import AuthSessionClient, OperatorClient
from galaxy_contracts.models import Challenge, RenderedDelivery
from tests.boundaries.authsessionmail.flows import TEMPLATE, MailSettings, the_delivery
from tests.harness.mailed_codes import TEMPLATE_HEADER, code_in
from tests.harness.sink import SinkMessage, SmtpSink

LOCALE = "de"
DELIVERY_HEADER = "X-Galaxy-Delivery-Id"  # mail.openapi.yaml: the header naming the delivery
MAIL_TIMEOUT = 15.0


@dataclass(frozen=True)
class Captured:
    email: str
    challenge: Challenge
    message: SinkMessage
    delivery: RenderedDelivery


@pytest.fixture
async def captured(authsession: AuthSessionClient, sink: SmtpSink, operator: OperatorClient, email: str) -> Captured:
    """A login challenge started for a fresh address, and its mail as the sink received it."""
    mark = await sink.mark()
    challenge = await authsession.start_challenge(email, locale=LOCALE)
    message = await sink.wait_one(to=email, after=mark, timeout=MAIL_TIMEOUT)
    return Captured(email, challenge, message, await the_delivery(operator, email))


async def test_mail_goes_to_the_address_only(captured: Captured) -> None:
    assert [r.lower() for r in captured.message.rcpt_tos] == [captured.email.lower()]
    assert [t.lower() for t in captured.message.to] == [captured.email.lower()]
    assert captured.message.cc == []


async def test_mail_comes_from_the_configured_sender(captured: Captured, mail_settings: MailSettings) -> None:
    assert captured.message.sender == parseaddr(mail_settings.from_address)[1]


async def test_mail_is_the_login_code_template(captured: Captured) -> None:
    assert captured.message.header(TEMPLATE_HEADER) == TEMPLATE


async def test_mail_names_the_asked_locale(captured: Captured) -> None:
    assert captured.message.header("Content-Language") == LOCALE


async def test_subject_is_the_rendered_one(captured: Captured) -> None:
    subject = captured.message.subject or ""
    assert subject.strip(), "no subject"
    assert "{{" not in subject, subject
    assert "}}" not in subject, subject
    assert subject == captured.delivery.subject


async def test_code_is_in_the_text_and_the_html_part(captured: Captured) -> None:
    assert captured.message.text is not None, "no text/plain part"
    assert captured.message.html is not None, "no text/html part"

    assert code_in(captured.message.text) == code_in(captured.message.html)


async def test_mailed_code_confirms_the_challenge(captured: Captured, authsession: AuthSessionClient) -> None:
    code = code_in(captured.message.text or "")

    session = await authsession.confirm(captured.challenge.challenge_id, code)

    assert session.session_token


async def test_message_id_is_the_one_fixed_at_acceptance(captured: Captured) -> None:
    message_id = captured.message.header("Message-ID") or ""
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message_id), message_id
    assert message_id == captured.delivery.message_id


async def test_delivery_header_names_the_delivery(captured: Captured) -> None:
    assert captured.message.header(DELIVERY_HEADER) == captured.delivery.delivery_id


async def test_message_is_dated(captured: Captured) -> None:
    assert captured.message.date, "no Date header"


async def test_delivery_is_sent_in_one_attempt(captured: Captured, operator: OperatorClient) -> None:
    delivery = await operator.delivery(captured.delivery.delivery_id)

    assert (delivery.status, [a.outcome for a in delivery.history]) == ("sent", ["sent"])
    assert delivery.source == "http"
