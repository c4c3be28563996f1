"""Sessions as authsession would open them, without authsession: the lab's key and the public Redis keys.

A session is active while ``authsession:session:{id}`` exists with the token's
``sub`` as ``user_id`` (contracts/redis/keys.md); the token is signed with the
boundary's signing key and kid (contracts/tokens/session-token.md).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import redis.asyncio as aioredis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from redis.typing import EncodableT, FieldT

from galaxy_contracts import redis_keys, tokens
from galaxy_contracts.models import Account
from tests.harness import seen
from tests.harness.keys import unique_session_id
from tests.harness.manifest import Manifest
from tests.harness.secrets import LabSecrets

SESSION_TTL_SECONDS = 900
GATEWAY = "gateway"
# docs/conventions.md: the lab's TOKEN_AUDIENCE, used when the manifest does not publish the setting.
DEFAULT_AUDIENCE = "galaxy-gateway"


@dataclass(frozen=True)
class LabSession:
    user_id: str
    session_id: str
    token: str


@dataclass(frozen=True)
class User:
    """An account in the real User Service with an active session through the gateway."""

    account: Account
    session: LabSession

    @property
    def user_id(self) -> str:
        return self.account.user_id

    @property
    def token(self) -> str:
        return self.session.token


class SessionMinter:
    def __init__(self, redis: aioredis.Redis, key: Ed25519PrivateKey, kid: str, audience: str) -> None:
        self._redis = redis
        self.key = key
        self.kid = kid
        self.audience = audience

    async def open(self, user_id: str) -> LabSession:
        """A new active session of ``user_id`` and a valid token for it."""
        session_id = unique_session_id()
        await self.write_session(session_id, user_id)
        token = self.token(user_id, session_id)
        seen.record("session token", token)
        return LabSession(user_id, session_id, token)

    async def write_session(self, session_id: str, user_id: str) -> None:
        now = time.time()
        fields: dict[FieldT, EncodableT] = {
            "user_id": user_id,
            "created_at": _rfc3339(now),
            "expires_at": _rfc3339(now + SESSION_TTL_SECONDS),
            "kid": self.kid,
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(redis_keys.session(session_id), mapping=fields)
            pipe.expire(redis_keys.session(session_id), SESSION_TTL_SECONDS)
            pipe.sadd(redis_keys.user_sessions(user_id), session_id)
            await pipe.execute()

    async def revoke(self, session: LabSession) -> None:
        """What logout does to the public keys."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(redis_keys.session(session.session_id))
            pipe.srem(redis_keys.user_sessions(session.user_id), session.session_id)
            await pipe.execute()

    def token(
        self,
        user_id: str,
        session_id: str,
        *,
        key: Ed25519PrivateKey | None = None,
        kid: str | None = None,
        audience: str | None = None,
        ttl_seconds: int = SESSION_TTL_SECONDS,
        now: float | None = None,
    ) -> str:
        return tokens.sign(
            key or self.key,
            kid if kid is not None else self.kid,
            user_id=user_id,
            session_id=session_id,
            audience=audience if audience is not None else self.audience,
            ttl_seconds=ttl_seconds,
            now=now,
        )


def _rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def audience(manifest: Manifest) -> str:
    """The audience the boundary's gateway expects in session tokens."""
    return manifest.setting(GATEWAY, "TOKEN_AUDIENCE") or DEFAULT_AUDIENCE


def minter(manifest: Manifest, redis: aioredis.Redis, secrets: LabSecrets) -> SessionMinter:
    """Sessions of the boundary: its Redis, its signing key and kid, its gateway's audience."""
    return SessionMinter(redis, secrets.signing_key, secrets.signing_kid, audience(manifest))
