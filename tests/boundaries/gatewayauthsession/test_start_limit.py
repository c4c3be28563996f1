"""The per-address StartLogin limit, seen through the gateway: RESOURCE_EXHAUSTED, whatever the letter case."""

from __future__ import annotations

import grpc

from galaxy_contracts.gateway import GatewayClient
from tests.harness.rpc import failure


async def test_starts_beyond_the_window_limit_are_resource_exhausted(
    gateway: GatewayClient, email: str, starts_per_window: int
) -> None:
    for _ in range(starts_per_window):
        await gateway.start_login(email)

    error = await failure(gateway.start_login(email))

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()
    assert error.details(), "the refusal says why"


async def test_the_limit_counts_one_address_in_any_letter_case(
    gateway: GatewayClient, email: str, starts_per_window: int
) -> None:
    local, _, domain = email.partition("@")
    spellings = [email.upper(), f"{local.title()}@{domain}", f"{local}@{domain.upper()}", email]
    for index in range(starts_per_window):
        await gateway.start_login(spellings[index % len(spellings)])

    error = await failure(gateway.start_login(email.swapcase()))

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error.details()


async def test_another_address_is_not_limited_by_the_first(
    gateway: GatewayClient, email: str, starts_per_window: int
) -> None:
    for _ in range(starts_per_window):
        await gateway.start_login(email)

    started = await gateway.start_login(f"other.{email}")

    assert started.challenge_id
