"""One place that bounds an outbound call and names the service when it fails."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from pydantic import ValidationError
from redis.exceptions import RedisError

from galaxy.gateway.domain.errors import ServiceUnavailable
from galaxy_contracts.http import Unavailable

T = TypeVar("T")
log = logging.getLogger(__name__)


async def bounded(service: str, budget: float, call: Awaitable[T]) -> T:
    """``call`` within ``budget`` seconds; ``ServiceUnavailable`` when down, slow, 5xx or off-contract.
    A 4xx ``ApiError`` passes through for the domain to interpret."""
    try:
        async with asyncio.timeout(budget):
            return await call
    except TimeoutError:
        raise _unavailable(service, f"no answer within {budget:.2f}s") from None
    except Unavailable as exc:
        raise _unavailable(service, exc.reason) from None
    except (RedisError, OSError) as exc:
        raise _unavailable(service, type(exc).__name__) from None
    except ValidationError:
        raise _unavailable(service, "answered outside its contract") from None


def _unavailable(service: str, reason: str) -> ServiceUnavailable:
    log.warning("downstream unavailable", extra={"downstream": service, "reason": reason})
    return ServiceUnavailable(service, reason)
