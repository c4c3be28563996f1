"""User Service: resolve the account of an e-mail (contracts/http/user.openapi.yaml)."""

from __future__ import annotations

import asyncio
import logging

from pydantic import ValidationError

from galaxy.authsession.domain.accounts import ResolvedAccount
from galaxy.authsession.domain.errors import UpstreamUnavailable
from galaxy_contracts.http import ApiError, Unavailable, UserClient
from galaxy_contracts.models import Locale

log = logging.getLogger(__name__)


class HttpUserDirectory:
    def __init__(self, client: UserClient, timeout_seconds: float) -> None:
        self._client = client
        self._timeout = timeout_seconds

    async def resolve(self, email: str, locale: Locale | None) -> ResolvedAccount:
        """Any failure to get a usable answer is "unavailable": the caller may retry with the same challenge."""
        try:
            async with asyncio.timeout(self._timeout):
                answer = await self._client.resolve(email, locale)
        except TimeoutError as exc:
            raise UpstreamUnavailable("user", "timed out") from exc
        except Unavailable as exc:
            raise UpstreamUnavailable("user", exc.reason) from exc
        except ApiError as exc:
            log.error("user service refused resolve", extra={"status": exc.status, "problem_code": exc.code})
            raise UpstreamUnavailable("user", f"refused with {exc.status} {exc.code}") from exc
        except ValidationError as exc:
            raise UpstreamUnavailable("user", "answer does not match the contract") from exc
        return ResolvedAccount(answer.account.user_id, blocked=answer.account.blocked, created=answer.created)
