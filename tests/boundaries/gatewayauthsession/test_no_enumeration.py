"""StartLogin for a known and an unknown address does the same downstream, not only the same answer.

Run alone in the boundary (``disruptive`` takes it exclusively) so the doubles' recordings and the
Redis keyspace hold only what these two logins did.
"""

from __future__ import annotations

import re

import pytest
import redis.asyncio as aioredis

from galaxy_contracts.gateway import GatewayClient
from tests.harness.fixtures import Clients
from tests.harness.keys import unique_email
from tests.harness.stubs import StubControl

pytestmark = pytest.mark.disruptive

# Ids, hashes and e-mail addresses in key names, so the two logins' keys compare by shape.
_VARIABLE = re.compile(r"c_[0-9a-f]+|[0-9a-f]{16,}|[A-Za-z0-9_.+-]+@[A-Za-z0-9.-]+")


def shape(key: str | bytes) -> str:
    return _VARIABLE.sub("<id>", key if isinstance(key, str) else key.decode())


async def downstream_of(
    gateway: GatewayClient, email: str, redis: aioredis.Redis, user_stub: StubControl, mail_stub: StubControl
) -> dict[str, object]:
    keys_before = set(await redis.keys("*"))
    user_calls = len(await user_stub.requests())
    mails = len(await mail_stub.deliveries())
    answer = await gateway.start_login(email)
    new_keys = sorted(set(await redis.keys("*")) - keys_before)
    sent = (await mail_stub.deliveries())[mails:]
    return {
        "answer": sorted(f.name for f, _ in answer.ListFields()),
        "keys": sorted(shape(k) for k in new_keys),
        "key_types": sorted([await redis.type(k) for k in new_keys]),
        "user_calls": [(r.method, shape(r.path)) for r in (await user_stub.requests())[user_calls:]],
        "mails": [(d.template, sorted(d.params)) for d in sent],
        "recipients": [d.to for d in sent],
    }


async def test_known_and_unknown_addresses_do_the_same_downstream(
    gateway: GatewayClient, clients: Clients, redis: aioredis.Redis
) -> None:
    user_stub: StubControl = await clients("user-stub")
    mail_stub: StubControl = await clients("mail-stub")
    known = unique_email("known")
    await user_stub.seed_account(known)
    unknown = unique_email("unknown")

    seen_known = await downstream_of(gateway, known, redis, user_stub, mail_stub)
    seen_unknown = await downstream_of(gateway, unknown, redis, user_stub, mail_stub)

    assert seen_known.pop("recipients") == [known]
    assert seen_unknown.pop("recipients") == [unknown]
    assert seen_known == seen_unknown
    assert seen_known["mails"], "the login code was mailed"
