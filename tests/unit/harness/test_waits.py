"""Polling with a deadline: the value once the condition holds, a WaitTimeout with the last failure after."""

from __future__ import annotations

import itertools

import pytest

from tests.harness.waits import WaitTimeout, eventually, eventually_async, until, until_async


def test_eventually_returns_once_the_check_passes() -> None:
    calls = itertools.count(1)

    def third_time_lucky() -> int:
        n = next(calls)
        assert n >= 3
        return n

    assert eventually(third_time_lucky, within=2, what="x", interval=0.001) == 3


def test_eventually_reports_what_and_the_last_failure() -> None:
    def never() -> None:
        raise AssertionError("still red")

    with pytest.raises(WaitTimeout, match=r"the thing: still failing after 0.05s: still red"):
        eventually(never, within=0.05, what="the thing", interval=0.01)


def test_eventually_does_not_swallow_other_errors() -> None:
    def broken() -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        eventually(broken, within=1, what="x")


async def test_eventually_async_returns_once_the_check_passes() -> None:
    calls = itertools.count(1)

    async def second_time() -> int:
        n = next(calls)
        assert n >= 2
        return n

    assert await eventually_async(second_time, within=2, what="x", interval=0.001) == 2


async def test_eventually_async_times_out() -> None:
    async def never() -> None:
        raise AssertionError("no")

    with pytest.raises(WaitTimeout, match="no"):
        await eventually_async(never, within=0.05, what="x", interval=0.01)


def test_until_returns_the_first_truthy_value() -> None:
    values = iter([0, None, "", "ready"])

    assert until(lambda: next(values), within=2, what="x", interval=0.001) == "ready"


def test_until_times_out_naming_what() -> None:
    with pytest.raises(WaitTimeout, match="door open: not true after"):
        until(lambda: False, within=0.05, what="door open", interval=0.01)


async def test_until_async_times_out() -> None:
    async def no() -> bool:
        return False

    with pytest.raises(WaitTimeout):
        await until_async(no, within=0.05, what="x", interval=0.01)
