"""Polling with a deadline: the only way suites wait (never a fixed sleep).

``eventually`` / ``eventually_async`` re-run a check until it stops raising
(``AssertionError`` by default) and re-raise the last failure, prefixed with
what was awaited, once the deadline passes. ``until`` / ``until_async`` poll a
probe until it returns something truthy and return that value.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryError,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_fixed,
)

T = TypeVar("T")

DEFAULT_INTERVAL = 0.05
Retryable = type[BaseException] | tuple[type[BaseException], ...]


class WaitTimeout(AssertionError):
    """The awaited condition did not hold before the deadline."""


def eventually(
    check: Callable[[], T],
    *,
    within: float,
    what: str,
    interval: float = DEFAULT_INTERVAL,
    retry_on: Retryable = AssertionError,
) -> T:
    retrying = Retrying(
        stop=stop_after_delay(within),
        wait=wait_fixed(interval),
        retry=retry_if_exception_type(retry_on),
        reraise=True,
    )
    try:
        return retrying(check)
    except retry_on as exc:
        raise WaitTimeout(f"{what}: still failing after {within:g}s: {exc}") from exc


async def eventually_async(
    check: Callable[[], Awaitable[T]],
    *,
    within: float,
    what: str,
    interval: float = DEFAULT_INTERVAL,
    retry_on: Retryable = AssertionError,
) -> T:
    retrying = AsyncRetrying(
        stop=stop_after_delay(within),
        wait=wait_fixed(interval),
        retry=retry_if_exception_type(retry_on),
        reraise=True,
    )
    try:
        return await retrying(check)
    except retry_on as exc:
        raise WaitTimeout(f"{what}: still failing after {within:g}s: {exc}") from exc


def until(
    probe: Callable[[], T],
    *,
    within: float,
    what: str,
    interval: float = DEFAULT_INTERVAL,
) -> T:
    retrying = Retrying(stop=stop_after_delay(within), wait=wait_fixed(interval), retry=retry_if_result(_falsy))
    try:
        return retrying(probe)
    except RetryError as exc:
        raise WaitTimeout(f"{what}: not true after {within:g}s") from exc


async def until_async(
    probe: Callable[[], Awaitable[T]],
    *,
    within: float,
    what: str,
    interval: float = DEFAULT_INTERVAL,
) -> T:
    retrying = AsyncRetrying(stop=stop_after_delay(within), wait=wait_fixed(interval), retry=retry_if_result(_falsy))
    try:
        return await retrying(probe)
    except RetryError as exc:
        raise WaitTimeout(f"{what}: not true after {within:g}s") from exc


def _falsy(value: object) -> bool:
    return not value
