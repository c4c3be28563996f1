"""Thin typed async clients of the HTTP contracts (contracts/http/)."""

from galaxy_contracts.http.authsession import AuthSessionClient
from galaxy_contracts.http.base import ApiError, Unavailable, bounded, tls_context
from galaxy_contracts.http.mail import MailClient, OperatorClient
from galaxy_contracts.http.user import UserClient

__all__ = [
    "ApiError",
    "AuthSessionClient",
    "MailClient",
    "OperatorClient",
    "Unavailable",
    "UserClient",
    "bounded",
    "tls_context",
]
