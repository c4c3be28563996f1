"""One place where a call to User or Mail Service is bounded and its failures become ``UpstreamUnavailable``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

from galaxy.authsession.domain.errors import UpstreamUnavailable
from galaxy_contracts.http import ApiError, Unavailable, bounded

T = TypeVar("T")
log = logging.getLogger(__name__)


async def call(service: str, budget: float, request: Awaitable[T]) -> T:
    """Any failure to get a usable answer is "unavailable" (the caller may retry with the same challenge);
    a 4xx refusal is a wiring fault here, so it is logged as an error too."""
    try:
        return await bounded(service, budget, request)
    except Unavailable as exc:
        raise UpstreamUnavailable(service, exc.cause) from exc
    except ApiError as exc:
        log.error("%s service refused the call", service, extra={"status": exc.status, "problem_code": exc.code})
        raise UpstreamUnavailable(service, f"refused with {exc.status} {exc.code}") from exc
