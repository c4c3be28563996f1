"""The use cases: start a login, confirm it, read and revoke sessions.

Depends only on the ports (domain/ports.py); main.py plugs in the Redis and HTTP adapters, tests plug in fakes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from galaxy.authsession.domain.errors import (
    AccountBlocked,
    AuthSessionError,
    ChallengeNotFound,
    InvalidCode,
    SessionNotFound,
    TooManyAttempts,
    TooManyChallenges,
    UpstreamUnavailable,
)
from galaxy.authsession.domain.model import (
    Challenge,
    ChallengePolicy,
    CodeHasher,
    OpenedSession,
    ResolvedAccount,
    Session,
    Signer,
    account_welcome,
    expires_in_minutes,
    new_code,
    welcome_owed,
)
from galaxy.authsession.domain.ports import ChallengeStore, Clock, CodeMailer, LoginMetrics, SessionStore, UserDirectory
from galaxy_contracts.models import Locale

log = logging.getLogger(__name__)


@dataclass
class LoginService:
    challenges: ChallengeStore
    sessions: SessionStore
    users: UserDirectory
    mailer: CodeMailer
    hasher: CodeHasher
    signer: Signer
    policy: ChallengePolicy
    session_ttl_seconds: int
    clock: Clock
    metrics: LoginMetrics

    async def start(self, email: str, locale: Locale | None) -> Challenge:
        """Mail a new code; the e-mail's earlier challenges stay usable (the start limit bounds guessing).
        Nothing here depends on whether an account exists for ``email`` (no enumeration)."""
        await self._within_start_limit(email)
        code = new_code()
        challenge = Challenge.issue(
            email, locale, code, self.hasher, now=self.clock(), ttl_seconds=self.policy.ttl_seconds
        )
        await self.challenges.create(challenge)
        try:
            await self.mailer.send_code(
                email,
                code,
                locale=locale,
                challenge_id=challenge.challenge_id,
                expires_in_minutes=expires_in_minutes(self.policy.ttl_seconds),
            )
        except UpstreamUnavailable as exc:
            await self.challenges.discard(challenge.challenge_id)
            self._failed(challenge.challenge_id, exc)
            raise
        self.metrics.challenge_started()
        log.info("challenge started", extra={"challenge_id": challenge.challenge_id})
        return challenge

    async def _within_start_limit(self, email: str) -> None:
        window = self.policy.start_window_seconds
        starts, left = await self.challenges.count_start(email, window_seconds=window)
        if starts > self.policy.starts_per_window:
            exc = TooManyChallenges(max(1, left))
            self._failed(None, exc)
            raise exc

    async def confirm(self, challenge_id: str, code: str) -> OpenedSession:
        try:
            return await self._confirm(challenge_id, code)
        except AuthSessionError as exc:
            self._failed(challenge_id, exc)
            raise

    async def _confirm(self, challenge_id: str, code: str) -> OpenedSession:
        now = self.clock()
        challenge = await self.challenges.get(challenge_id)
        if challenge is None:
            raise ChallengeNotFound
        max_attempts = self.policy.max_attempts
        if not challenge.accepts(code, self.hasher, now=now, max_attempts=max_attempts):
            remaining = await self.challenges.record_failure(challenge_id, now=now, max_attempts=max_attempts)
            raise InvalidCode(remaining)
        claim = await self.challenges.claim(
            challenge_id, now=now, max_attempts=max_attempts, lease_seconds=self.policy.claim_seconds
        )
        account = await self._resolve(challenge, claim.token)
        if account.blocked:
            await self.challenges.discard(challenge_id, claim.token)
            raise AccountBlocked
        session = Session.open(account.user_id, self.signer.kid, now=now, ttl_seconds=self.session_ttl_seconds)
        skew = self.policy.welcome_clock_skew_seconds
        owed = account.created or (
            claim.resumed and welcome_owed(account, since=challenge.created_at, clock_skew_seconds=skew)
        )
        intent = account_welcome(account.user_id, now=now) if owed else None
        if not await self.challenges.complete(challenge_id, claim.token, session, intent):
            raise ChallengeNotFound
        self.metrics.challenge_confirmed()
        log.info(
            "challenge confirmed",
            extra={
                "challenge_id": challenge_id,
                "session_id": session.session_id,
                "user_id": session.user_id,
                "new_account": account.created,
            },
        )
        return OpenedSession(session, self.signer.sign(session), new_account=account.created)

    async def _resolve(self, challenge: Challenge, claim: str) -> ResolvedAccount:
        """The account of the challenge's e-mail; on any failure the challenge is released, still usable."""
        try:
            return await self.users.resolve(challenge.email, challenge.locale)
        except BaseException:
            try:
                await self.challenges.release(challenge.challenge_id, claim)
            except Exception:  # noqa: BLE001 - the claim's lease frees the challenge anyway
                log.warning("could not release challenge", extra={"challenge_id": challenge.challenge_id})
            raise

    async def relay_welcomes(self, *, limit: int = 100) -> int:
        """Settle the welcome notes whose confirm never finished (a crash, a Redis or User Service failure, a
        lost claim): resolve the e-mail again and write the welcome if the account is new to that login,
        removing the note in the same step. Returns how many notes were settled; a note whose User Service call
        fails stays and is tried again when due (each taken note is held for one claim lease)."""
        notes = await self.challenges.due_welcomes(
            now=self.clock(), lease_seconds=self.policy.claim_seconds, limit=limit
        )
        settled = 0
        for note in notes:
            try:
                account = await self.users.resolve(note.email, note.locale)
            except UpstreamUnavailable as exc:
                log.warning(
                    "welcome relay paused: user service unavailable",
                    extra={"challenge_id": note.challenge_id, "attempts": note.attempts, "error": exc.reason},
                )
                break
            owed = note.owes_welcome(account, clock_skew_seconds=self.policy.welcome_clock_skew_seconds)
            intent = account_welcome(account.user_id, now=self.clock()) if owed else None
            if await self.challenges.settle_welcome(note.challenge_id, intent):
                settled += 1
                if intent is not None:
                    self.metrics.welcome_relayed()
                    log.info(
                        "welcome relayed",
                        extra={
                            "challenge_id": note.challenge_id,
                            "user_id": account.user_id,
                            "intent_id": intent.intent_id,
                        },
                    )
        self.metrics.welcome_outbox(await self.challenges.pending_welcomes())
        return settled

    async def session(self, session_id: str) -> Session:
        session = await self.sessions.get(session_id)
        if session is None or not session.active(self.clock()):
            raise SessionNotFound
        return session

    async def revoke(self, session_id: str) -> None:
        if await self.sessions.revoke(session_id):
            self.metrics.session_revoked()
            log.info("session revoked", extra={"session_id": session_id})

    def _failed(self, challenge_id: str | None, exc: AuthSessionError) -> None:
        """Count and log a refusal: the reason and the challenge id, never the code (nor the e-mail)."""
        reason = _reason(exc)
        self.metrics.challenge_failed(reason)
        extra = {"reason": reason} | ({"challenge_id": challenge_id} if challenge_id else {})
        if isinstance(exc, InvalidCode):
            extra["remaining_attempts"] = str(exc.remaining_attempts)
        if isinstance(exc, UpstreamUnavailable):
            extra["error"] = exc.reason
        log.info("challenge refused", extra=extra)


_REASONS: dict[type[AuthSessionError], str] = {
    ChallengeNotFound: "challenge_not_found",
    InvalidCode: "invalid_code",
    TooManyAttempts: "too_many_attempts",
    AccountBlocked: "account_blocked",
    TooManyChallenges: "too_many_challenges",
}


def _reason(exc: AuthSessionError) -> str:
    if isinstance(exc, UpstreamUnavailable):
        return f"{exc.service}_unavailable"
    return _REASONS.get(type(exc), "error")
