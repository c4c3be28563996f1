"""UpdateMyAccount acts on the token's subject: a user_id in the request body changes nothing of another user."""

from __future__ import annotations

from galaxy_contracts.gateway import GatewayClient, pb
from tests.boundaries.gatewayuser.sessions import User


async def test_a_user_id_in_the_body_is_not_obeyed_the_tokens_subject_is_updated(
    gateway: GatewayClient, user: User, other_user: User
) -> None:
    others_before = await gateway.get_my_account(other_user.token)

    updated = await gateway.update_my_account(
        user.token, pb.Account(user_id=other_user.user_id, display_name="Not Yours"), ["display_name"]
    )

    assert updated.user_id == user.user_id
    assert (await gateway.get_my_account(user.token)).display_name == "Not Yours"
    assert await gateway.get_my_account(other_user.token) == others_before
