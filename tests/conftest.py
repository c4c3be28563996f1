"""Root of the test tree: the harness's helpers get pytest's assertion rewriting; xdist runs get the boundary
scheduling (tests.harness.scheduling), here so that the xdist controller, which collects nothing, has it."""

import pytest

pytest.register_assert_rewrite("tests.harness")

from xdist.remote import Producer  # noqa: E402  (after the rewrite registration, as the harness below)

from tests.harness import scheduling  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    scheduling.configure(config)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> scheduling.BoundaryScheduling | None:
    return scheduling.make_scheduler(config, log)
