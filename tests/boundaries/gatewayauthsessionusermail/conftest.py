"""The gatewayauthsessionusermail boundary: a registration through the gateway with the code from the SMTP sink
(generic fixtures: harness)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from galaxy_contracts import redis_keys
from galaxy_contracts.gateway import GatewayClient
from galaxy_contracts.http import OperatorClient
from tests.boundaries.gatewayauthsessionusermail.flows import Registration
from tests.harness import redis as lab_redis
from tests.harness.fixtures import Clients
from tests.harness.login import start_login
from tests.harness.mail_operator import operator_client
from tests.harness.mailed_codes import SinkCodes
from tests.harness.manifest import Manifest
from tests.harness.sink import SmtpSink


@pytest.fixture
async def sink(clients: Clients) -> SmtpSink:
    client: SmtpSink = await clients("smtp-sink")
    return client


@pytest.fixture
def mailed(sink: SmtpSink) -> SinkCodes:
    """Login codes as the SMTP sink received them."""
    return SinkCodes(sink)


@pytest.fixture
async def operator(manifest: Manifest) -> AsyncIterator[OperatorClient]:
    async with operator_client(manifest) as client:
        yield client


@pytest.fixture
async def registration(gateway: GatewayClient, mailed: SinkCodes, redis: aioredis.Redis, email: str) -> Registration:
    """A fresh address registered through the gateway, with where both streams stood before it started."""
    intents_before = await lab_redis.last_id(redis, redis_keys.NOTIFICATION_INTENTS)
    mail_before = await lab_redis.last_id(redis, redis_keys.MAIL_DELIVERIES)
    started = await start_login(gateway, mailed, email)
    session = await gateway.confirm_login(started.challenge_id, started.code)
    return Registration(started, session, intents_before, mail_before)
