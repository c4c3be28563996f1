"""Accounts in User Service with sessions minted with the lab's key (the boundary has no authsession)."""

from __future__ import annotations

from galaxy_contracts.http import UserClient
from tests.harness.keys import unique_email
from tests.harness.sessions import SessionMinter, User

# docs/conventions.md: the lab's TOKEN_AUDIENCE, used when the manifest does not publish the setting.
DEFAULT_AUDIENCE = "galaxy-gateway"


async def new_user(users: UserClient, minter: SessionMinter, tag: str) -> User:
    resolved = await users.resolve(unique_email(tag))
    return User(resolved.account, await minter.open(resolved.account.user_id))
