"""A real sink in this process: its SMTP listener and its API (uvicorn) on free ports of 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from galaxy.common.serve import uvicorn_server
from galaxy.common.tls import ServerTLS, client_context
from galaxylab.sink.domain.service import Sink
from galaxylab.sink.main import create_app, create_sink, lab_token
from galaxylab.sink.transport.smtp import SmtpListener
from tests.harness.waits import until_async
from tests.unit.common.certs import TlsFiles

TOKENS = {"authsession": "tok-authsession-5d1e", "gateway": "tok-gateway-0b7c", "lab": "tok-lab-c3a9"}
HOST = "127.0.0.1"
MAX_MESSAGE_BYTES = 64 * 1024
DEADLINE_SECONDS = 10.0


@dataclass(frozen=True)
class RunningSink:
    sink: Sink
    smtp_port: int
    api_url: str


@asynccontextmanager
async def running_sink(
    *, max_messages: int = 1000, max_message_bytes: int = MAX_MESSAGE_BYTES, tls: TlsFiles | None = None
) -> AsyncIterator[RunningSink]:
    """With ``tls``, both ports speak TLS with its certificate (as ``GALAXYLAB_SINK_TLS_*`` make the program)."""
    server = None if tls is None else ServerTLS(tls.cert, tls.key)
    sink = create_sink(max_messages)
    smtp = SmtpListener(sink, max_message_bytes)
    smtp_port = await smtp.start(HOST, 0, None if server is None else server.context())
    banner_tls = None if tls is None else client_context(tls.ca)
    api = uvicorn_server(create_app(sink, lab_token(TOKENS), HOST, smtp_port, banner_tls), HOST, 0, server)
    serving = asyncio.create_task(api.serve())
    try:

        async def started() -> bool:
            if serving.done():
                raise RuntimeError("the sink's API did not start") from serving.exception()
            return bool(api.started)

        await until_async(started, within=DEADLINE_SECONDS, what="the sink's API listening", interval=0.01)
        api_port = api.servers[0].sockets[0].getsockname()[1]
        yield RunningSink(sink, smtp_port, f"{'http' if tls is None else 'https'}://{HOST}:{api_port}")
    finally:
        api.should_exit = True
        await smtp.stop()
        await asyncio.wait_for(serving, DEADLINE_SECONDS)
