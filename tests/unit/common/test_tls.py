"""galaxy.common.tls and serve: the main port over TLS, verified with the lab's CA; the admin port stays plain;
plain text and a certificate from another CA are refused; bad TLS settings stop the program naming them."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
from pydantic_settings import SettingsConfigDict
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from galaxy.common.serve import http_servers
from galaxy.common.settings import ConfigError, ProgramSettings
from galaxy.common.tls import client_context, client_tls, client_verify, server_tls
from tests.unit.common.certs import TlsFiles, write_tls
from tests.unit.common.ports import closed_port


class Settings(ProgramSettings):
    model_config = SettingsConfigDict(env_prefix="GALAXY_PROBE_")


def settings(**values: object) -> Settings:
    return Settings(port=1, admin_port=1, **values)  # type: ignore[arg-type]


def hello(text: str) -> Starlette:
    return Starlette(routes=[Route("/", lambda _: PlainTextResponse(text))])


def served_tls(tls: TlsFiles) -> Settings:
    return settings(tls_cert_file=tls.cert, tls_key_file=tls.key, tls_ca_file=tls.ca)


async def test_the_main_port_speaks_tls_verified_with_the_labs_ca_and_the_admin_port_stays_plain(
    tls: TlsFiles,
) -> None:
    ports = closed_port(), closed_port()
    verify = client_tls(served_tls(tls))

    async with (
        http_servers(hello("main"), hello("admin"), "127.0.0.1", *ports, tls=server_tls(served_tls(tls))),
        httpx.AsyncClient(verify=verify) as client,
    ):
        main = await client.get(f"https://127.0.0.1:{ports[0]}/")
        admin = await client.get(f"http://127.0.0.1:{ports[1]}/")

    assert (main.text, admin.text) == ("main", "admin")


async def test_a_plain_text_request_to_the_tls_port_gets_no_answer(tls: TlsFiles) -> None:
    port = closed_port()

    async with (
        http_servers(hello("main"), hello("admin"), "127.0.0.1", port, closed_port(), tls=server_tls(served_tls(tls))),
        httpx.AsyncClient() as client,
    ):
        with pytest.raises(httpx.TransportError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_a_client_trusting_another_ca_refuses_the_server(tls: TlsFiles, other_ca: TlsFiles) -> None:
    port = closed_port()

    async with (
        http_servers(hello("main"), hello("admin"), "127.0.0.1", port, closed_port(), tls=server_tls(served_tls(tls))),
        httpx.AsyncClient(verify=client_context(other_ca.ca)) as client,
    ):
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(f"https://127.0.0.1:{port}/")


async def test_a_certificate_for_another_address_is_refused(tmp_path: Path) -> None:
    elsewhere = write_tls(tmp_path / "elsewhere", address="192.0.2.7")
    port = closed_port()

    async with (
        http_servers(
            hello("main"), hello("admin"), "127.0.0.1", port, closed_port(), tls=server_tls(served_tls(elsewhere))
        ),
        httpx.AsyncClient(verify=client_context(elsewhere.ca)) as client,
    ):
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(f"https://127.0.0.1:{port}/")


def test_without_tls_settings_the_main_port_is_plain() -> None:
    assert server_tls(settings()) is None
    assert client_tls(settings()).verify_mode == ssl.CERT_REQUIRED  # the system's CAs


@pytest.mark.parametrize("given", ["tls_cert_file", "tls_key_file"])
def test_a_certificate_without_its_key_or_the_reverse_is_refused_naming_both(tls: TlsFiles, given: str) -> None:
    with pytest.raises(ConfigError, match="GALAXY_PROBE_TLS_CERT_FILE and GALAXY_PROBE_TLS_KEY_FILE"):
        server_tls(settings(**{given: tls.cert}))


def test_a_key_that_is_not_the_certificates_is_refused_naming_the_variable_not_the_content(
    tls: TlsFiles, other_ca: TlsFiles
) -> None:
    with pytest.raises(ConfigError, match=r"^GALAXY_PROBE_TLS_CERT_FILE: ") as refused:
        server_tls(settings(tls_cert_file=tls.cert, tls_key_file=other_ca.key))
    assert "PRIVATE KEY" not in str(refused.value)


def test_an_unreadable_ca_file_is_refused_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^GALAXY_PROBE_TLS_CA_FILE: cannot read"):
        client_tls(settings(tls_ca_file=tmp_path / "missing.pem"))


def test_clients_of_plain_http_callees_get_no_context_and_an_https_callee_or_a_ca_file_gets_one(tls: TlsFiles) -> None:
    assert client_verify(settings(), "http://127.0.0.1:1", "http://127.0.0.1:2") is True
    https = client_verify(settings(), "http://127.0.0.1:1", "https://127.0.0.1:2")
    assert isinstance(https, ssl.SSLContext)
    assert https.verify_mode == ssl.CERT_REQUIRED
    lab_ca = client_verify(settings(tls_ca_file=tls.ca), "http://127.0.0.1:1")
    assert isinstance(lab_ca, ssl.SSLContext)
    assert lab_ca.get_ca_certs()


def test_a_ca_file_is_read_even_when_every_callee_is_plain_http(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^GALAXY_PROBE_TLS_CA_FILE: cannot read"):
        client_verify(settings(tls_ca_file=tmp_path / "missing.pem"), "http://127.0.0.1:1")
