"""Recipients from User Service over HTTP (contracts/http/user.openapi.yaml, ``GET /v1/accounts/{user_id}``)."""

from __future__ import annotations

from galaxy.notification.domain.errors import RecipientNotFound, RecipientsUnavailable
from galaxy.notification.domain.model import Recipient
from galaxy_contracts.http import ApiError, Unavailable, UserClient, bounded

NOT_FOUND = 404


class UserServiceRecipients:
    def __init__(self, client: UserClient, budget_seconds: float) -> None:
        self._client = client
        self._budget = budget_seconds

    async def get(self, user_id: str) -> Recipient:
        try:
            account = await bounded(self._client.service, self._budget, self._client.get(user_id))
        except Unavailable as exc:
            raise RecipientsUnavailable(f"user service unavailable: {exc.cause}") from None
        except ApiError as exc:
            if exc.status == NOT_FOUND:
                raise RecipientNotFound(user_id) from None
            # 401/403: our token is refused; a configuration fault worth retrying once it is fixed.
            raise RecipientsUnavailable(f"user service refused the lookup: {exc.status} {exc.code}") from None
        preferences = account.notification_preferences
        return Recipient(
            user_id=account.user_id,
            email=account.email,
            display_name=account.display_name,
            locale=account.locale,
            push_enabled=preferences.push_enabled,
            email_enabled=preferences.email_enabled,
        )
