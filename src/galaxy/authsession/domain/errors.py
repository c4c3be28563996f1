"""Why a login or session request is refused; transport maps each to a problem code."""

from __future__ import annotations


class AuthSessionError(Exception):
    """Base of the domain's refusals."""


class ChallengeNotFound(AuthSessionError):
    """Unknown, expired, used, or being confirmed right now."""


class InvalidCode(AuthSessionError):
    def __init__(self, remaining_attempts: int) -> None:
        super().__init__(f"wrong code; {remaining_attempts} attempt(s) remaining")
        self.remaining_attempts = remaining_attempts


class TooManyAttempts(AuthSessionError):
    """The attempt limit is reached; the challenge is spent."""


class TooManyChallenges(AuthSessionError):
    """The e-mail address started its allowance of challenges in this window; the same for known and unknown."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"too many login challenges for this e-mail address; retry in {retry_after_seconds}s")
        self.retry_after_seconds = retry_after_seconds


class AccountBlocked(AuthSessionError):
    """The account exists but may not log in."""


class SessionNotFound(AuthSessionError):
    """No active session with that id."""


class UpstreamUnavailable(AuthSessionError):
    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service} service unavailable: {reason}")
        self.service = service
        self.reason = reason
