"""What the gatewayauthsessionuser suite knows of a registration (the login itself is tests.harness.login)."""

from __future__ import annotations

from dataclasses import dataclass

from galaxy_contracts.gateway import pb


@dataclass(frozen=True)
class Registered:
    email: str
    session: pb.ConfirmLoginResponse

    @property
    def token(self) -> str:
        return self.session.session_token

    @property
    def user_id(self) -> str:
        return self.session.user_id
