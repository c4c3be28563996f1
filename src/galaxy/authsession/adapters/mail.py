"""Mail Service: the auth-code mail goes straight over HTTP, never through notification:intents."""

from __future__ import annotations

import asyncio
import logging

from pydantic import ValidationError

from galaxy.authsession.domain.errors import UpstreamUnavailable
from galaxy_contracts.http import ApiError, MailClient, Unavailable
from galaxy_contracts.models import Locale

TEMPLATE = "auth.login_code"
log = logging.getLogger(__name__)


class HttpCodeMailer:
    def __init__(self, client: MailClient, timeout_seconds: float) -> None:
        self._client = client
        self._timeout = timeout_seconds

    async def send_code(
        self, to: str, code: str, *, locale: Locale | None, challenge_id: str, expires_in_minutes: int
    ) -> None:
        params = {"code": code, "expires_in_minutes": expires_in_minutes}
        try:
            async with asyncio.timeout(self._timeout):
                await self._client.send(to, TEMPLATE, params, idempotency_key=challenge_id, locale=locale or "en")
        except TimeoutError as exc:
            raise UpstreamUnavailable("mail", "timed out") from exc
        except Unavailable as exc:
            raise UpstreamUnavailable("mail", exc.reason) from exc
        except ApiError as exc:
            log.error("mail service refused the code mail", extra={"status": exc.status, "problem_code": exc.code})
            raise UpstreamUnavailable("mail", f"refused with {exc.status} {exc.code}") from exc
        except ValidationError as exc:
            raise UpstreamUnavailable("mail", "answer does not match the contract") from exc
