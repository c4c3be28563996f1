"""``UserDirectory`` through User Service: resolve the account of an e-mail (contracts/http/user.openapi.yaml)."""

from __future__ import annotations

from galaxy.authsession.adapters._downstream import call
from galaxy.authsession.domain.model import ResolvedAccount
from galaxy_contracts.http import UserClient
from galaxy_contracts.models import Locale


class HttpUserDirectory:
    def __init__(self, client: UserClient, timeout_seconds: float) -> None:
        self._client = client
        self._timeout = timeout_seconds

    async def resolve(self, email: str, locale: Locale | None) -> ResolvedAccount:
        """Any failure to get a usable answer is "unavailable": the caller may retry with the same challenge."""
        answer = await call("user", self._timeout, self._client.resolve(email, locale))
        account = answer.account
        return ResolvedAccount(
            account.user_id, blocked=account.blocked, created=answer.created, created_at=account.created_at.timestamp()
        )
