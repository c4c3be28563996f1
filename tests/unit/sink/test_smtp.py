"""The sink speaks SMTP to real clients: smtplib (stdlib) and aiosmtplib."""

from __future__ import annotations

import asyncio
import smtplib

import aiosmtplib
import httpx
import pytest

from tests.unit.sink.mail import message, send, smtp, wire
from tests.unit.sink.running import HOST, MAX_MESSAGE_BYTES, running_sink

TOO_BIG = ("x" * 76 + "\n") * (MAX_MESSAGE_BYTES // 76)


async def messages(api: httpx.AsyncClient) -> list[dict[str, object]]:
    response = await api.get("/api/v1/messages")
    assert response.status_code == 200, response.text
    found: list[dict[str, object]] = response.json()["messages"]
    return found


async def raw(api: httpx.AsyncClient, message_id: object) -> bytes:
    return (await api.get(f"/api/v1/messages/{message_id}/raw")).content


# --- smtplib ---------------------------------------------------------------------------------------


async def test_the_banner_and_ehlo_advertise_size_8bitmime_smtputf8_and_pipelining(smtp_port: int) -> None:
    def ehlo(client: smtplib.SMTP) -> tuple[int, dict[str, str]]:
        code, _ = client.ehlo("client.example")
        return code, client.esmtp_features

    code, features = await smtp(smtp_port, ehlo)

    assert code == 250
    assert features["size"] == str(MAX_MESSAGE_BYTES)
    assert {"8bitmime", "smtputf8", "pipelining"} <= features.keys()


async def test_a_message_to_several_recipients_is_kept_once_with_its_envelope(
    smtp_port: int, api: httpx.AsyncClient
) -> None:
    msg = message(to="ada@example.com", Cc="bob@example.com")
    recipients = ["ada@example.com", "bob@example.com", "hidden@example.com"]

    refused = await send(smtp_port, msg, recipients)

    (kept,) = await messages(api)
    assert refused == {}
    assert (kept["mail_from"], kept["rcpt_tos"]) == ("galaxy@example.com", recipients)


async def test_the_raw_bytes_are_the_message_as_sent_with_dots_unstuffed(
    smtp_port: int, api: httpx.AsyncClient
) -> None:
    msg = message(text="first line\n.a line that starts with a dot\n..two dots\nlast")

    await send(smtp_port, msg)

    (kept,) = await messages(api)
    assert await raw(api, kept["id"]) == wire(msg)


async def test_rset_discards_the_transaction_in_progress(smtp_port: int, api: httpx.AsyncClient) -> None:
    def rset_then_send(client: smtplib.SMTP) -> int:
        client.ehlo()
        client.mail("first@example.com")
        client.rcpt("dropped@example.com")
        code, _ = client.rset()
        client.sendmail("second@example.com", ["kept@example.com"], wire(message()))
        return code

    code = await smtp(smtp_port, rset_then_send)

    (kept,) = await messages(api)
    assert code == 250
    assert (kept["mail_from"], kept["rcpt_tos"]) == ("second@example.com", ["kept@example.com"])


async def test_a_helo_client_can_send(smtp_port: int, api: httpx.AsyncClient) -> None:
    def helo(client: smtplib.SMTP) -> int:
        code, _ = client.helo("old.example")
        client.sendmail("galaxy@example.com", ["ada@example.com"], wire(message()))
        return code

    code = await smtp(smtp_port, helo)

    assert code == 250
    assert len(await messages(api)) == 1


async def test_several_messages_on_one_connection(smtp_port: int, api: httpx.AsyncClient) -> None:
    def three(client: smtplib.SMTP) -> None:
        for n in range(3):
            client.send_message(message(subject=f"n{n}"))

    await smtp(smtp_port, three)

    assert [m["subject"] for m in await messages(api)] == ["n2", "n1", "n0"]


async def test_an_8bitmime_utf8_body_is_kept_byte_for_byte(smtp_port: int, api: httpx.AsyncClient) -> None:
    body = "Grüße, Ünïcødé ✓ — код 123456\r\n".encode()
    data = b"From: galaxy@example.com\r\nTo: ada@example.com\r\nSubject: utf-8\r\nMIME-Version: 1.0\r\n"
    data += b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body

    await smtp(
        smtp_port,
        lambda c: c.sendmail("galaxy@example.com", ["ada@example.com"], data, mail_options=["BODY=8BITMIME"]),
    )

    (kept,) = await messages(api)
    detail = (await api.get(f"/api/v1/messages/{kept['id']}")).json()
    assert await raw(api, kept["id"]) == data
    assert detail["text"] == body.decode()


async def test_an_smtputf8_address_is_accepted(smtp_port: int, api: httpx.AsyncClient) -> None:
    await send(smtp_port, message(to="jürgen@exämple.org"))

    (kept,) = await messages(api)
    assert kept["rcpt_tos"] == ["jürgen@exämple.org"]


async def test_a_declared_size_over_the_limit_is_refused_at_mail_from(smtp_port: int, api: httpx.AsyncClient) -> None:
    big = message(text=TOO_BIG)

    with pytest.raises(smtplib.SMTPSenderRefused) as refused:
        await send(smtp_port, big)

    assert refused.value.smtp_code == 552
    assert await messages(api) == []


async def test_data_over_the_limit_is_refused_after_data_and_the_session_goes_on(
    smtp_port: int, api: httpx.AsyncClient
) -> None:
    def undeclared_then_small(client: smtplib.SMTP) -> int:
        client.ehlo()
        client.mail("galaxy@example.com")  # no SIZE= parameter
        client.rcpt("ada@example.com")
        code, _ = client.data(wire(message(text=TOO_BIG)))
        client.send_message(message(subject="small"))
        return code

    code = await smtp(smtp_port, undeclared_then_small)

    assert code == 552
    assert [m["subject"] for m in await messages(api)] == ["small"]


async def test_pipelined_commands_are_answered_in_order(smtp_port: int, api: httpx.AsyncClient) -> None:
    def pipelined(client: smtplib.SMTP) -> list[int]:
        client.ehlo()
        assert client.has_extn("pipelining")
        client.send(
            b"MAIL FROM:<galaxy@example.com>\r\nRCPT TO:<ada@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n"
        )
        codes = [client.getreply()[0] for _ in range(4)]
        client.send(wire(message()) + b".\r\nRSET\r\nNOOP\r\n")
        return codes + [client.getreply()[0] for _ in range(3)]

    codes = await smtp(smtp_port, pipelined)

    (kept,) = await messages(api)
    assert codes == [250, 250, 250, 354, 250, 250, 250]
    assert kept["rcpt_tos"] == ["ada@example.com", "bob@example.com"]


async def test_commands_out_of_order_get_smtp_errors_not_a_crash(smtp_port: int, api: httpx.AsyncClient) -> None:
    def out_of_order(client: smtplib.SMTP) -> list[int]:
        client.ehlo()
        return [client.docmd(cmd)[0] for cmd in ("RCPT TO:<ada@example.com>", "DATA", "MAIL FROM:", "BOGUS")]

    codes = await smtp(smtp_port, out_of_order)

    assert codes == [503, 503, 501, 500]
    assert (await api.get("/api/v1/status")).json()["messages"] == 0


# --- aiosmtplib ------------------------------------------------------------------------------------


async def test_aiosmtplib_sends_to_several_recipients(smtp_port: int, api: httpx.AsyncClient) -> None:
    recipients = ["ada@example.com", "bob@example.com"]

    refused, _ = await aiosmtplib.send(message(), hostname=HOST, port=smtp_port, recipients=recipients)

    (kept,) = await messages(api)
    assert (refused, kept["rcpt_tos"]) == ({}, recipients)


async def test_concurrent_aiosmtplib_sessions_are_all_kept(smtp_port: int, api: httpx.AsyncClient) -> None:
    await asyncio.gather(*(aiosmtplib.send(message(subject=f"s{n}"), hostname=HOST, port=smtp_port) for n in range(10)))

    assert sorted(str(m["subject"]) for m in await messages(api)) == sorted(f"s{n}" for n in range(10))


async def test_aiosmtplib_rset_and_8bit_utf8(smtp_port: int, api: httpx.AsyncClient) -> None:
    text = "Grüße — ✓\n"
    async with aiosmtplib.SMTP(hostname=HOST, port=smtp_port) as client:
        await client.mail("first@example.com")
        await client.rcpt("dropped@example.com")
        await client.rset()
        await client.send_message(message(text=text))

    (kept,) = await messages(api)
    detail = (await api.get(f"/api/v1/messages/{kept['id']}")).json()
    assert (kept["mail_from"], kept["rcpt_tos"]) == ("galaxy@example.com", ["ada@example.com"])
    assert detail["text"].replace("\r\n", "\n") == text


async def test_aiosmtplib_sees_the_size_limit(smtp_port: int) -> None:
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await aiosmtplib.send(message(text=TOO_BIG), hostname=HOST, port=smtp_port)

    assert refused.value.code == 552


async def test_stopping_the_sink_ends_open_sessions() -> None:
    client = None
    async with running_sink() as sink:
        client = aiosmtplib.SMTP(hostname=HOST, port=sink.smtp_port)
        await client.connect()
        await client.ehlo()

    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await client.noop()
