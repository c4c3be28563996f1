"""``CodeMailer`` through Mail Service: the auth-code mail goes straight over HTTP, never through
notification:intents."""

from __future__ import annotations

from galaxy.authsession.adapters._downstream import call
from galaxy_contracts.http import MailClient
from galaxy_contracts.models import Locale

TEMPLATE = "auth.login_code"


class HttpCodeMailer:
    def __init__(self, client: MailClient, timeout_seconds: float) -> None:
        self._client = client
        self._timeout = timeout_seconds

    async def send_code(
        self, to: str, code: str, *, locale: Locale | None, challenge_id: str, expires_in_minutes: int
    ) -> None:
        params = {"code": code, "expires_in_minutes": expires_in_minutes}
        send = self._client.send(to, TEMPLATE, params, idempotency_key=challenge_id, locale=locale or "en")
        await call("mail", self._timeout, send)
