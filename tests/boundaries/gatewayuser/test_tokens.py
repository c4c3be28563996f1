"""The gateway accepts a session token only when it is genuine, current, for it, and its session is active."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from galaxy_contracts.gateway import GatewayClient, pb
from galaxy_contracts.http import UserClient
from tests.harness.keys import unique_session_id
from tests.harness.rpc import failure
from tests.harness.sessions import SessionMinter, User


@dataclass(frozen=True)
class Kit:
    gateway: GatewayClient
    minter: SessionMinter
    user: User
    other_user: User


# Each case builds the token to present (None: no authorization metadata) from a user whose session works.
TokenCase = Callable[[Kit], Awaitable[str | None]]


async def forged_signature(kit: Kit) -> str | None:
    return kit.minter.token(kit.user.user_id, kit.user.session.session_id, key=Ed25519PrivateKey.generate())


async def expired(kit: Kit) -> str | None:
    an_hour_ago = time.time() - 3600
    return kit.minter.token(kit.user.user_id, kit.user.session.session_id, now=an_hour_ago, ttl_seconds=60)


async def wrong_audience(kit: Kit) -> str | None:
    return kit.minter.token(kit.user.user_id, kit.user.session.session_id, audience="galaxy-somewhere-else")


async def unknown_kid(kit: Kit) -> str | None:
    return kit.minter.token(kit.user.user_id, kit.user.session.session_id, kid="kid-nobody-published")


async def unsigned(kit: Kit) -> str | None:
    genuine = kit.minter.token(kit.user.user_id, kit.user.session.session_id)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    return jwt.encode(claims, key="", algorithm="none", headers={"kid": kit.minter.kid})


async def missing(kit: Kit) -> str | None:
    return None


async def not_a_token(kit: Kit) -> str | None:
    return "not-a-session-token"


async def revoked_session(kit: Kit) -> str | None:
    assert await kit.gateway.get_my_account(kit.user.token), "precondition: the session works before revoking"
    await kit.minter.revoke(kit.user.session)
    return kit.user.token


async def unknown_session(kit: Kit) -> str | None:
    return kit.minter.token(kit.user.user_id, unique_session_id())


async def session_of_another_user(kit: Kit) -> str | None:
    return kit.minter.token(kit.user.user_id, kit.other_user.session.session_id)


REFUSED: list[TokenCase] = [
    forged_signature,
    expired,
    wrong_audience,
    unknown_kid,
    unsigned,
    missing,
    not_a_token,
    revoked_session,
    unknown_session,
    session_of_another_user,
]


@pytest.fixture
def kit(gateway: GatewayClient, minter: SessionMinter, user: User, other_user: User) -> Kit:
    return Kit(gateway, minter, user, other_user)


async def call_get_my_account(gateway: GatewayClient, token: str | None) -> pb.Account:
    if token is None:
        return await gateway.stub.GetMyAccount(pb.GetMyAccountRequest(), timeout=5.0)  # type: ignore[no-any-return]
    return await gateway.get_my_account(token)


async def test_minted_token_is_accepted(gateway: GatewayClient, user: User) -> None:
    """The control for every refusal below: the same user, session and key work when nothing is wrong."""
    assert (await gateway.get_my_account(user.token)).user_id == user.user_id


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case.__name__.replace("_", "-"))
async def test_token_is_refused_as_unauthenticated(kit: Kit, case: TokenCase) -> None:
    token = await case(kit)

    error = await failure(call_get_my_account(kit.gateway, token))

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error.details()


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case.__name__.replace("_", "-"))
async def test_refusal_has_a_message_without_the_token(kit: Kit, case: TokenCase) -> None:
    token = await case(kit)

    error = await failure(call_get_my_account(kit.gateway, token))

    assert error.details()
    assert token is None or token not in (error.details() or "")


@pytest.mark.parametrize("case", REFUSED, ids=lambda case: case.__name__.replace("_", "-"))
async def test_refused_token_cannot_update(kit: Kit, case: TokenCase) -> None:
    token = await case(kit)
    request = pb.UpdateMyAccountRequest(account=pb.Account(display_name="Intruder"))
    request.update_mask.paths.append("display_name")
    metadata = None if token is None else (("authorization", f"Bearer {token}"),)

    error = await failure(kit.gateway.stub.UpdateMyAccount(request, metadata=metadata, timeout=5.0))

    assert error.code() == grpc.StatusCode.UNAUTHENTICATED, error.details()


async def test_token_reaches_only_its_own_account(gateway: GatewayClient, user: User, other_user: User) -> None:
    seen = await gateway.get_my_account(other_user.token)

    assert (seen.user_id, seen.email) == (other_user.user_id, other_user.account.email)


async def test_update_with_one_token_leaves_the_other_account_alone(
    gateway: GatewayClient, users: UserClient, user: User, other_user: User
) -> None:
    before = await users.get(user.user_id)

    await gateway.update_my_account(other_user.token, pb.Account(display_name="Only Mine"), ["display_name"])

    assert await users.get(user.user_id) == before
