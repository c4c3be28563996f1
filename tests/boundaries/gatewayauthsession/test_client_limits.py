"""Limits the gateway puts on one client: StartLogin calls per client address and window
(RESOURCE_EXHAUSTED with google.rpc.RetryInfo, accepted again once the window ends) and request size
(RESOURCE_EXHAUSTED from gRPC itself, and the gateway goes on serving).

Every test of this boundary calls from the same address, so the test that uses up the address's
StartLogin budget is ``disruptive`` (it runs alone within the boundary) and ends only once StartLogin
is accepted again. The lab's gateway settings keep that practical: ``PEER_LOGIN_STARTS_PER_WINDOW``
high enough for the whole suite, ``PEER_LOGIN_WINDOW_SECONDS`` short (src/galaxylab/plan/components.yaml).
"""

from __future__ import annotations

import asyncio

import grpc
import pytest

from galaxy_contracts.gateway import GatewayClient
from tests.harness.rpc import describe, failure, retry_delay
from tests.harness.waits import until_async

# Malformed StartLogin calls sent at once: each counts against the address, none reaches authsession.
BATCH = 50
# A refusal whose window ends sooner than this is not trusted to still hold for the next call.
MARGIN = 2.0
SLACK = 5.0
POLL = 0.2


async def refused_after_malformed_calls(gateway: GatewayClient, limit: int) -> grpc.aio.AioRpcError:
    """Malformed StartLogin calls until the gateway refuses one for the address; its refusal. A fixed
    window may end once during the burst, so at most twice the limit (and one batch) is sent."""
    for _ in range(2 * limit // BATCH + 2):
        errors = await asyncio.gather(*(failure(gateway.start_login("")) for _ in range(BATCH)))
        codes = {error.code() for error in errors}
        assert codes <= {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED}, codes
        refused = [error for error in errors if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED]
        if refused:
            return min(refused, key=lambda error: retry_delay(error) or 0.0)
    raise AssertionError(f"no refusal after {2 * limit + BATCH} StartLogin calls from one address")


async def window_ended(gateway: GatewayClient, within: float) -> None:
    async def accepted_again() -> bool:
        return (await failure(gateway.start_login(""))).code() != grpc.StatusCode.RESOURCE_EXHAUSTED

    await until_async(accepted_again, within=within, what="the address's StartLogin window ends", interval=POLL)


@pytest.mark.disruptive
async def test_an_address_over_its_start_limit_is_refused_with_retry_info_until_the_window_ends(
    gateway: GatewayClient, email: str, peer_starts_per_window: int, peer_window_seconds: int
) -> None:
    refused = await refused_after_malformed_calls(gateway, peer_starts_per_window)
    if (retry_delay(refused) or 0.0) < MARGIN:  # so little left of the window: wait for the next one
        await window_ended(gateway, peer_window_seconds + SLACK)
        refused = await refused_after_malformed_calls(gateway, peer_starts_per_window)

    error = await failure(gateway.start_login(email))

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, describe(error)
    assert "client address" in error.details(), describe(error)
    delay = retry_delay(error)
    assert delay is not None, f"no google.rpc.RetryInfo detail: {describe(error)}"
    assert 0 < delay <= peer_window_seconds

    async def accepted() -> str:
        try:
            return (await gateway.start_login(email)).challenge_id
        except grpc.aio.AioRpcError as again:
            if again.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                raise
            return ""

    assert await until_async(
        accepted, within=delay + SLACK, what="StartLogin accepted after retry_delay", interval=POLL
    )


@pytest.mark.parametrize("rpc", ["StartLogin", "ConfirmLogin"])
async def test_an_oversized_request_is_resource_exhausted_and_the_gateway_goes_on_serving(
    gateway: GatewayClient, email: str, max_request_bytes: int, rpc: str
) -> None:
    oversized = "a" * (max_request_bytes + 1)
    call = gateway.start_login(oversized) if rpc == "StartLogin" else gateway.confirm_login(oversized, "123456")

    error = await failure(call)

    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, describe(error)
    assert error.details(), "the refusal says why"
    assert (await gateway.start_login(email)).challenge_id


async def test_a_request_within_the_size_limit_is_read(gateway: GatewayClient, max_request_bytes: int) -> None:
    """Read and refused for what it holds, not for its size: the limit is the one the settings give."""
    error = await failure(gateway.start_login("a" * (max_request_bytes - 1024)))

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, describe(error)
