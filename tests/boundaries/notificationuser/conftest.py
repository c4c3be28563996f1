"""The notificationuser boundary's own fixtures: accounts created through User Service."""

from __future__ import annotations

import pytest

from galaxy_contracts.http import UserClient
from galaxy_contracts.models import Account
from tests.boundaries.notificationuser.outputs import new_account


@pytest.fixture
async def account(users: UserClient) -> Account:
    return await new_account(users, "recipient")
