"""``LoginMetrics`` as Prometheus counters and gauges, exposed on the admin port's /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CHALLENGES_STARTED = Counter("galaxy_authsession_challenges_started_total", "Login challenges started (code mailed)")
CHALLENGES_CONFIRMED = Counter("galaxy_authsession_challenges_confirmed_total", "Challenges exchanged for a session")
CHALLENGES_FAILED = Counter(
    "galaxy_authsession_challenges_failed_total", "Challenge starts and confirms refused or failed", ["reason"]
)
SESSIONS_REVOKED = Counter("galaxy_authsession_sessions_revoked_total", "Sessions revoked (logout)")
WELCOMES_RELAYED = Counter(
    "galaxy_authsession_welcomes_relayed_total", "Welcome intents written by the outbox relay (a confirm had not)"
)
WELCOME_OUTBOX = Gauge(
    "galaxy_authsession_welcome_outbox_pending", "Welcome notes not settled yet, as of the relay's last pass"
)


class PrometheusLoginMetrics:
    def challenge_started(self) -> None:
        CHALLENGES_STARTED.inc()

    def challenge_confirmed(self) -> None:
        CHALLENGES_CONFIRMED.inc()

    def challenge_failed(self, reason: str) -> None:
        CHALLENGES_FAILED.labels(reason).inc()

    def session_revoked(self) -> None:
        SESSIONS_REVOKED.inc()

    def welcome_relayed(self) -> None:
        WELCOMES_RELAYED.inc()

    def welcome_outbox(self, pending: int) -> None:
        WELCOME_OUTBOX.set(pending)
