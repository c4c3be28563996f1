"""Public gRPC API of the Edge Gateway (contracts/proto/galaxy/gateway/v1).

Re-exports the generated modules under short names and offers a typed async
client that attaches the session token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import grpc

from galaxy_contracts.gen.galaxy.gateway.v1 import gateway_pb2 as pb
from galaxy_contracts.gen.galaxy.gateway.v1 import gateway_pb2_grpc as pb_grpc

__all__ = ["GatewayClient", "bearer", "pb", "pb_grpc"]


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


class GatewayClient:
    """Async client of galaxy.gateway.v1.GatewayService."""

    def __init__(
        self,
        endpoint: str,
        *,
        timeout: float = 5.0,
        options: Sequence[tuple[str, Any]] = (),
        interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
        root_certificates: bytes | None = None,
    ) -> None:
        """``options`` are gRPC channel arguments (``grpc.max_reconnect_backoff_ms``, ...); ``interceptors``
        see every call (e.g. a harness that records what it was given). With ``root_certificates`` (PEM: the
        lab's CA) the channel speaks TLS and verifies the gateway's certificate with them; else plain text."""
        chosen = list(interceptors) or None
        if root_certificates is None:
            self._channel = grpc.aio.insecure_channel(endpoint, options=options, interceptors=chosen)
        else:
            credentials = grpc.ssl_channel_credentials(root_certificates=root_certificates)
            self._channel = grpc.aio.secure_channel(endpoint, credentials, options=options, interceptors=chosen)
        self._stub = pb_grpc.GatewayServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._timeout = timeout

    async def close(self) -> None:
        await self._channel.close(None)

    async def __aenter__(self) -> GatewayClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def stub(self) -> pb_grpc.GatewayServiceStub:
        return self._stub

    async def start_login(self, email: str, locale: str = "") -> pb.StartLoginResponse:
        return await self._stub.StartLogin(pb.StartLoginRequest(email=email, locale=locale), timeout=self._timeout)  # type: ignore[no-any-return]

    async def confirm_login(self, challenge_id: str, code: str) -> pb.ConfirmLoginResponse:
        request = pb.ConfirmLoginRequest(challenge_id=challenge_id, code=code)
        return await self._stub.ConfirmLogin(request, timeout=self._timeout)  # type: ignore[no-any-return]

    async def logout(self, token: str) -> pb.LogoutResponse:
        return await self._stub.Logout(pb.LogoutRequest(), metadata=bearer(token), timeout=self._timeout)  # type: ignore[no-any-return]

    async def get_my_account(self, token: str) -> pb.Account:
        return await self._stub.GetMyAccount(pb.GetMyAccountRequest(), metadata=bearer(token), timeout=self._timeout)  # type: ignore[no-any-return]

    async def update_my_account(self, token: str, account: pb.Account, paths: list[str]) -> pb.Account:
        request = pb.UpdateMyAccountRequest(account=account)
        request.update_mask.paths.extend(paths)
        return await self._stub.UpdateMyAccount(request, metadata=bearer(token), timeout=self._timeout)  # type: ignore[no-any-return]

    def subscribe(self, token: str, resume_after: str = "") -> AsyncIterator[pb.PushEvent]:
        call = self._stub.Subscribe(pb.SubscribeRequest(resume_after=resume_after), metadata=bearer(token))
        return cast(AsyncIterator[pb.PushEvent], call.__aiter__())
