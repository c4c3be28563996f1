"""The sink's own Prometheus series (served on the API port's /metrics with the HTTP ones)."""

from __future__ import annotations

from prometheus_client import Counter

from galaxylab.sink.domain.service import Reply

REPLIES = Counter(
    "galaxylab_sink_smtp_replies_total",
    "SMTP replies to RCPT TO and end of DATA, by outcome (accepted, refused, dropped)",
    ["stage", "outcome"],
)


def count_reply(stage: str, reply: Reply) -> None:
    outcome = "dropped" if reply.drop else "accepted" if reply.accepted else "refused"
    REPLIES.labels(stage, outcome).inc()
