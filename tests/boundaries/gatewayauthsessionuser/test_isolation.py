"""Boundaries are isolated: what a registration writes lands in this boundary's Redis and in no other's."""

from __future__ import annotations

from galaxy_contracts import redis_keys
from tests.boundaries.gatewayauthsessionuser.flows import Registered
from tests.harness import redis as lab_redis
from tests.harness.manifest import Manifest, load_all


async def test_a_new_session_is_in_this_boundarys_redis_only(manifest: Manifest, registered: Registered) -> None:
    key = redis_keys.session(registered.session.session_id)
    holders = []
    for other in load_all():
        client = lab_redis.client(other)
        try:
            if await client.exists(key):
                holders.append(other.boundary)
        finally:
            await client.aclose()

    assert holders == [manifest.boundary]
