"""In-memory authsession and user services behind httpx.MockTransport, speaking their OpenAPI contracts."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from galaxy_contracts import redis_keys
from galaxy_contracts.models import AccountUpdate
from galaxy_contracts.tokens import sign

CODE = "123456"
AUDIENCE = "galaxy-gateway"


def problem(status: int, code: str, detail: str = "", **extra: Any) -> httpx.Response:
    body = {"type": "about:blank", "title": "error", "status": status, "code": code, "detail": detail, **extra}
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


def user_id_for(email: str) -> str:
    return "u_" + hashlib.md5(email.lower().encode()).hexdigest()


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    authorization: str | None


@dataclass
class Fake:
    """Shared by both fakes: recorded requests, and an override that replaces every answer."""

    token: str
    requests: list[Recorded] = field(default_factory=list)
    override: httpx.Response | Exception | None = None
    hang: bool = False

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append(Recorded(request.method, request.url.path, body, request.headers.get("authorization")))
        if self.hang:
            await asyncio.Event().wait()
        if isinstance(self.override, Exception):
            raise self.override
        if self.override is not None:
            return self.override
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return problem(401, "unauthorized", "service token not accepted")
        return await self.answer(request.method, request.url.path, body)

    async def answer(self, method: str, path: str, body: Any) -> httpx.Response:
        raise NotImplementedError

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


@dataclass
class FakeUsers(Fake):
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    refuse_updates: httpx.Response | None = None
    """The answer to every PATCH (reads still succeed)."""

    def add(self, email: str, display_name: str = "Ada") -> str:
        user_id = user_id_for(email)
        now = datetime.now(UTC).isoformat()
        self.accounts[user_id] = {
            "user_id": user_id,
            "email": email,
            "display_name": display_name,
            "locale": "en",
            "notification_preferences": {"email_enabled": True, "push_enabled": True},
            "blocked": False,
            "created_at": now,
            "updated_at": now,
        }
        return user_id

    async def answer(self, method: str, path: str, body: Any) -> httpx.Response:
        match = re.fullmatch(r"/v1/accounts/(u_[0-9a-f]{32})", path)
        if match is None or match[1] not in self.accounts:
            return problem(404, "not_found", "no such account")
        account = self.accounts[match[1]]
        if method == "PATCH" and self.refuse_updates is not None:
            return self.refuse_updates
        if method == "PATCH":
            try:
                update = AccountUpdate.model_validate(body)
            except ValidationError as exc:
                errors = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]
                return problem(422, "validation_failed", "invalid", errors=errors)
            changes = update.model_dump(exclude_none=True)
            account["notification_preferences"] |= changes.pop("notification_preferences", {})
            account |= changes
        return httpx.Response(200, json=account)


@dataclass
class FakeAuthSession(Fake):
    """Challenges and sessions like authsession: sessions written to Redis per contracts/redis/keys.md."""

    redis: Any = None
    key: Ed25519PrivateKey | None = None
    kid: str = "k1"
    users: FakeUsers | None = None
    challenges: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)

    async def answer(self, method: str, path: str, body: Any) -> httpx.Response:
        if path == "/v1/challenges":
            return self._start(body)
        if match := re.fullmatch(r"/v1/challenges/(c_[0-9a-f]{32})/confirm", path):
            return await self._confirm(match[1], body["code"])
        if match := re.fullmatch(r"/v1/sessions/(s_[0-9a-f]{32})/revoke", path):
            user_id = await self.redis.hget(redis_keys.session(match[1]), "user_id")
            await self.redis.delete(redis_keys.session(match[1]))
            if user_id:
                await self.redis.srem(redis_keys.user_sessions(user_id), match[1])
            return httpx.Response(204)
        return problem(404, "not_found")

    def _start(self, body: dict[str, Any]) -> httpx.Response:
        challenge_id = "c_" + secrets.token_hex(16)
        self.challenges[challenge_id] = {"email": body["email"], "attempts": 5}
        expires = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
        return httpx.Response(201, json={"challenge_id": challenge_id, "expires_at": expires})

    async def _confirm(self, challenge_id: str, code: str) -> httpx.Response:
        challenge = self.challenges.get(challenge_id)
        if challenge is None:
            return problem(404, "challenge_not_found", "unknown, used or expired challenge")
        if code != CODE:
            challenge["attempts"] -= 1
            if challenge["attempts"] == 0:
                del self.challenges[challenge_id]
                return problem(429, "too_many_attempts", "attempt limit reached")
            return problem(401, "invalid_code", "wrong code", remaining_attempts=challenge["attempts"])
        del self.challenges[challenge_id]
        email = challenge["email"]
        if email in self.blocked:
            return problem(403, "account_blocked", "the account is blocked")
        new = user_id_for(email) not in self.users.accounts if self.users else True
        user_id = self.users.add(email) if self.users and new else user_id_for(email)
        return httpx.Response(200, json=await self.open_session(user_id, new_account=new))

    async def open_session(self, user_id: str, *, new_account: bool = False, ttl: int = 3600) -> dict[str, Any]:
        assert self.key is not None
        session_id = "s_" + secrets.token_hex(16)
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=ttl)
        await self.redis.hset(
            redis_keys.session(session_id),
            mapping={
                "user_id": user_id,
                "created_at": now.isoformat(),
                "expires_at": expires.isoformat(),
                "kid": self.kid,
            },
        )
        await self.redis.expire(redis_keys.session(session_id), ttl)
        await self.redis.sadd(redis_keys.user_sessions(user_id), session_id)
        token = sign(self.key, self.kid, user_id=user_id, session_id=session_id, audience=AUDIENCE, ttl_seconds=ttl)
        return {
            "session_token": token,
            "session_id": session_id,
            "user_id": user_id,
            "new_account": new_account,
            "expires_at": expires.isoformat(),
        }
