"""Notification Service metrics (exposed on the admin port's /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

HANDLED = Counter(
    "galaxy_notification_intents_total",
    "Deliveries of intents by outcome: delivered, duplicate, dead_lettered, retry (left pending), lost_race, error",
    ["outcome"],
)
DEAD_LETTERED = Counter(
    "galaxy_notification_dead_letters_total", "Intents dead-lettered to notification:intents:dead", ["reason"]
)
SKIPPED = Counter(
    "galaxy_notification_skipped_by_preference_total",
    "Channels not used because the recipient switched them off (types with respects_preferences)",
    ["channel"],
)
WRITTEN = Counter("galaxy_notification_entries_written_total", "Push and mail entries written", ["channel"])
PENDING = Gauge("galaxy_notification_pending", "Entries of notification:intents delivered but not yet acknowledged")
LAG = Gauge("galaxy_notification_lag", "Entries of notification:intents not yet delivered to the consumer group")
