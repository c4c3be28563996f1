"""A direct send repeated with the same idempotency key (a caller retrying after a lost answer) is one delivery
and one mail; the same key with another body is refused."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from galaxy_contracts.http import ApiError, MailClient
from tests.harness.sink import SmtpSink
from tests.harness.waits import eventually_async

TEMPLATE = "auth.login_code"
PARAMS = {"code": "135790", "expires_in_minutes": 10}
REPEATS = 3
AT_ONCE = 8


async def sent(mail: MailClient, delivery_id: str) -> None:
    """The delivery becomes ``sent``: the sink keeps the mail at the end of DATA, a moment before Mail has read
    the sink's 250 (longer over TLS) and recorded it."""

    async def status() -> None:
        assert (await mail.get(delivery_id)).status == "sent"

    await eventually_async(status, within=10.0, what=f"delivery {delivery_id} sent")


@pytest.fixture
def key() -> str:
    return f"lab-{uuid.uuid4().hex}"


async def test_same_key_is_the_same_delivery_and_one_mail(
    mail: MailClient, sink: SmtpSink, email: str, key: str
) -> None:
    mark = await sink.mark()

    answers = [await mail.send(email, TEMPLATE, PARAMS, idempotency_key=key) for _ in range(REPEATS)]

    assert len({a.delivery_id for a in answers}) == 1
    (message,) = await sink.wait(to=email, after=mark, count=1, timeout=15.0)
    await sent(mail, answers[0].delivery_id)
    assert [m.id for m in await sink.messages(to=email, after=mark)] == [message.id]


async def test_same_key_sent_at_once_is_one_delivery_and_one_mail(
    mail: MailClient, sink: SmtpSink, email: str, key: str
) -> None:
    """The retries of a caller that timed out arrive together: only an atomic check-and-store makes them one."""
    mark = await sink.mark()

    answers = await asyncio.gather(*(mail.send(email, TEMPLATE, PARAMS, idempotency_key=key) for _ in range(AT_ONCE)))

    assert len({a.delivery_id for a in answers}) == 1
    (message,) = await sink.wait(to=email, after=mark, count=1, timeout=15.0)
    await sent(mail, answers[0].delivery_id)
    assert [m.id for m in await sink.messages(to=email, after=mark)] == [message.id]


async def test_same_key_with_another_body_is_refused(mail: MailClient, email: str, key: str) -> None:
    await mail.send(email, TEMPLATE, PARAMS, idempotency_key=key)

    with pytest.raises(ApiError) as refused:
        await mail.send(email, TEMPLATE, {**PARAMS, "code": "246801"}, idempotency_key=key)

    assert (refused.value.status, refused.value.code) == (422, "idempotency_key_reused")
