"""GET /v1/sessions/{id}, POST /v1/sessions/{id}/revoke, GET /v1/keys."""

from __future__ import annotations

import fakeredis
import httpx

from galaxy_contracts import redis_keys, tokens
from tests.unit.authsession.helpers import KID, Login


async def open_session(login: Login) -> dict[str, str]:
    challenge_id, code = await login.start()
    body: dict[str, str] = (await login.confirm(challenge_id, code)).json()
    return body


async def test_get_session_answers_the_active_session(login: Login, client: httpx.AsyncClient) -> None:
    opened = await open_session(login)
    response = await client.get(f"/v1/sessions/{opened['session_id']}")
    assert response.status_code == 200
    assert response.json() == {k: opened[k] for k in ("session_id", "user_id", "expires_at")}


async def test_revoke_removes_the_session_key_at_once(
    login: Login, client: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis
) -> None:
    opened = await open_session(login)
    response = await client.post(f"/v1/sessions/{opened['session_id']}/revoke")
    assert response.status_code == 204
    assert response.content == b""
    assert not await redis.exists(redis_keys.session(opened["session_id"]))
    assert await redis.smembers(redis_keys.user_sessions(opened["user_id"])) == set()
    gone = await client.get(f"/v1/sessions/{opened['session_id']}")
    assert gone.status_code == 404
    assert gone.json()["code"] == "session_not_found"


async def test_revoke_touches_only_that_session(
    login: Login, client: httpx.AsyncClient, redis: fakeredis.FakeAsyncRedis
) -> None:
    first, second = await open_session(login), await open_session(login)
    await client.post(f"/v1/sessions/{first['session_id']}/revoke")
    assert await redis.exists(redis_keys.session(second["session_id"]))
    assert await redis.smembers(redis_keys.user_sessions(second["user_id"])) == {second["session_id"]}


async def test_revoke_is_idempotent(login: Login, client: httpx.AsyncClient) -> None:
    opened = await open_session(login)
    for _ in range(2):
        assert (await client.post(f"/v1/sessions/{opened['session_id']}/revoke")).status_code == 204
    assert (await client.post(f"/v1/sessions/s_{'0' * 32}/revoke")).status_code == 204


async def test_unknown_session_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/v1/sessions/s_{'0' * 32}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_keys_are_public_and_name_the_signing_kid(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/v1/keys")
    assert response.status_code == 200
    [key] = response.json()["keys"]
    assert (key["kid"], key["alg"]) == (KID, "EdDSA")
    assert set(tokens.public_keys_from_pem({key["kid"]: key["public_key_pem"]})) == {KID}
    assert "PRIVATE" not in response.text
