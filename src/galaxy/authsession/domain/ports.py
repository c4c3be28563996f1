"""The outbound interfaces the login needs; adapters implement them (one module each, named by the port),
tests swap them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from galaxy.authsession.domain.model import Challenge, Claim, Intent, ResolvedAccount, Session, WelcomeNote
from galaxy_contracts.models import Locale

Clock = Callable[[], float]
"""Seconds since the epoch (``time.time``)."""


class ChallengeStore(Protocol):
    async def count_start(self, email: str, *, window_seconds: int) -> tuple[int, int]:
        """Count one start for ``email`` in its fixed window: (starts so far, seconds left in the window)."""
        ...

    async def create(self, challenge: Challenge) -> None: ...

    async def get(self, challenge_id: str) -> Challenge | None: ...
    async def discard(self, challenge_id: str, claim: str | None = None) -> None: ...
    async def record_failure(self, challenge_id: str, *, now: float, max_attempts: int) -> int: ...
    async def claim(self, challenge_id: str, *, now: float, max_attempts: int, lease_seconds: float) -> Claim: ...
    async def release(self, challenge_id: str, claim: str) -> None: ...
    async def complete(self, challenge_id: str, claim: str, session: Session, intent: Intent | None) -> bool: ...

    # The welcome outbox. ``claim`` notes, in the same atomic step, that a welcome may be owed (a WelcomeNote,
    # due when the claim's lease ends); ``complete`` and ``discard`` remove the note in their atomic step,
    # ``release`` keeps it (User Service may have created the account before the call failed).

    async def due_welcomes(self, *, now: float, lease_seconds: float, limit: int) -> list[WelcomeNote]:
        """Up to ``limit`` notes due at ``now``, each held for ``lease_seconds`` (then due again) and counted as
        one more attempt."""
        ...

    async def settle_welcome(self, challenge_id: str, intent: Intent | None) -> bool:
        """Remove the note and write ``intent`` (if any) to ``notification:intents``, atomically; False (and
        nothing written) when the note was settled already."""
        ...

    async def pending_welcomes(self) -> int:
        """How many notes there are."""
        ...


class SessionStore(Protocol):
    async def get(self, session_id: str) -> Session | None: ...
    async def revoke(self, session_id: str) -> bool: ...


class UserDirectory(Protocol):
    async def resolve(self, email: str, locale: Locale | None) -> ResolvedAccount: ...


class CodeMailer(Protocol):
    async def send_code(
        self, to: str, code: str, *, locale: Locale | None, challenge_id: str, expires_in_minutes: int
    ) -> None: ...


class LoginMetrics(Protocol):
    """What the login counts (exposed on the admin port's /metrics)."""

    def challenge_started(self) -> None: ...
    def challenge_confirmed(self) -> None: ...
    def challenge_failed(self, reason: str) -> None: ...
    def session_revoked(self) -> None: ...
    def welcome_relayed(self) -> None: ...
    def welcome_outbox(self, pending: int) -> None: ...
