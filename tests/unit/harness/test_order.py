"""The boundary tests' order: each boundary's disruptive modules first, whole modules, the rest kept."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.harness.order import disruptive_modules_first

DISRUPTIVE = "disruptive"
ROOT = Path("/repo/tests")


@dataclass(frozen=True)
class FakeItem:
    path: Path
    name: str
    disruptive: bool = False

    def get_closest_marker(self, name: str) -> object | None:
        return object() if self.disruptive and name == DISRUPTIVE else None


def item(module: str, name: str, *, disruptive: bool = False) -> FakeItem:
    return FakeItem(ROOT / module, name, disruptive)


def names(items: list[FakeItem]) -> list[str]:
    return [i.name for i in items]


def test_a_boundarys_disruptive_modules_come_first_and_the_lab_checks_keep_their_place() -> None:
    items = [
        item("lab/test_state.py", "state-1"),
        item("lab/test_state.py", "state-2"),
        item("boundaries/alpha/test_a.py", "alpha-a"),
        item("boundaries/alpha/test_down.py", "alpha-down", disruptive=True),
        item("boundaries/beta/test_a.py", "beta-a"),
        item("boundaries/beta/test_b.py", "beta-b"),
        item("boundaries/beta/test_kill.py", "beta-kill", disruptive=True),
    ]

    ordered = disruptive_modules_first(items, DISRUPTIVE)

    assert names(ordered) == ["state-1", "state-2", "alpha-down", "alpha-a", "beta-kill", "beta-a", "beta-b"]


def test_a_module_with_one_disruptive_test_moves_whole_in_its_own_order() -> None:
    items = [
        item("boundaries/alpha/test_a.py", "a-1"),
        item("boundaries/alpha/test_mixed.py", "mixed-1"),
        item("boundaries/alpha/test_mixed.py", "mixed-2", disruptive=True),
        item("boundaries/alpha/test_mixed.py", "mixed-3"),
    ]

    assert names(disruptive_modules_first(items, DISRUPTIVE)) == ["mixed-1", "mixed-2", "mixed-3", "a-1"]


def test_without_disruptive_tests_the_order_is_the_collection_order() -> None:
    items = [item("boundaries/alpha/test_b.py", "b"), item("boundaries/alpha/test_a.py", "a"), item("x.py", "x")]

    assert disruptive_modules_first(items, DISRUPTIVE) == items
