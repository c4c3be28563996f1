"""One place that bounds an outbound call and names the service when it fails."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

from redis.exceptions import RedisError

from galaxy.gateway.domain.errors import ServiceUnavailable
from galaxy_contracts.http import Unavailable
from galaxy_contracts.http import bounded as contract_call

T = TypeVar("T")
log = logging.getLogger(__name__)


async def bounded(service: str, budget: float, call: Awaitable[T]) -> T:
    """``call`` within ``budget`` seconds; ``ServiceUnavailable`` when down, slow, 5xx or off-contract (naming
    the callee's own cause when it gave one). A 4xx ``ApiError`` passes through for the domain to interpret."""
    try:
        return await contract_call(service, budget, call)
    except Unavailable as exc:
        raise _unavailable(service, exc.cause) from None
    except (RedisError, OSError) as exc:
        raise _unavailable(service, type(exc).__name__) from None


def _unavailable(service: str, reason: str) -> ServiceUnavailable:
    log.warning("downstream unavailable", extra={"downstream": service, "reason": reason})
    return ServiceUnavailable(service, reason)
