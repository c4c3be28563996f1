"""How long a downstream call may take."""

from __future__ import annotations

# Of the caller's remaining deadline, the share a downstream call may use, so that the gateway
# still answers UNAVAILABLE (naming the service) before the caller gives up with DEADLINE_EXCEEDED.
CALLER_DEADLINE_SHARE = 0.8


def downstream_budget(configured: float, caller_remaining: float | None) -> float:
    """The smaller of the configured downstream timeout and (most of) the caller's remaining deadline."""
    if caller_remaining is None:
        return configured
    return max(0.0, min(configured, caller_remaining * CALLER_DEADLINE_SHARE))
