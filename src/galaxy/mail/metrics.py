"""Delivery counters and queue gauges, exposed on the admin port's /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

ACCEPTED = Counter("galaxy_mail_accepted_total", "Deliveries accepted (stored and queued)", ["source"])
SENT = Counter("galaxy_mail_sent_total", "Deliveries the provider took (status sent or recorded)", ["provider"])
RETRIED = Counter("galaxy_mail_retried_total", "Attempts that failed transiently and were scheduled again")
FAILED = Counter("galaxy_mail_failed_total", "Deliveries given up (status failed)", ["reason"])
DEAD_LETTERED = Counter(
    "galaxy_mail_dead_lettered_total",
    "Entries written to mail:deliveries:dead (deliveries and stream entries)",
    ["reason"],
)
QUEUE_DEPTH = Gauge("galaxy_mail_queue_depth", "Deliveries waiting on the work queue")
IN_FLIGHT = Gauge("galaxy_mail_in_flight", "Deliveries being sent (leased)")
DUE_RETRIES = Gauge("galaxy_mail_due_retries", "Deliveries waiting for a scheduled retry")
