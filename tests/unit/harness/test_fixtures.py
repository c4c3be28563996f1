"""The generic suite fixtures, in a throwaway test tree laid out like tests/boundaries (pytester)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.unit.harness.manifests import manifest_for

pytest_plugins = ["pytester"]

ROOT_CONFTEST = """
from tests.harness.fixtures import boundary, email, manifest, secrets
__all__ = ["boundary", "email", "manifest", "secrets"]
"""


MANIFEST_TEST = """
def test_manifest_is_the_suites(manifest):
    assert manifest.boundary == "{name}"
"""

EMAIL_TEST = """
seen = []

def test_a(email):
    seen.append(email)

def test_b(email):
    assert seen and email not in seen
"""


def manifest_of(boundary: str) -> str:
    return manifest_for(boundary, root="/s", redis_port=1, components={}).model_dump_json()


@pytest.fixture
def tree(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.Pytester:
    """``suites/conftest.py`` registers the harness fixtures; manifests of ``one`` and ``two`` in a state dir."""
    state = tmp_path / "state"
    (state / "manifests").mkdir(parents=True)
    for name in ("one", "two"):
        (state / "manifests" / f"{name}.json").write_text(manifest_of(name))
    monkeypatch.setenv("GALAXYLAB_STATE_DIR", str(state))
    monkeypatch.delenv("CI", raising=False)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.mkpydir("boundaries")
    (pytester.path / "boundaries" / "conftest.py").write_text(ROOT_CONFTEST)
    return pytester


def add_suite(tree: pytest.Pytester, name: str, *, test: str = MANIFEST_TEST) -> None:
    package = tree.path / "boundaries" / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "test_it.py").write_text(textwrap.dedent(test.format(name=name)))


def test_each_suite_gets_the_manifest_of_its_own_boundary(tree: pytest.Pytester) -> None:
    add_suite(tree, "one")
    add_suite(tree, "two")

    result = tree.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist", "boundaries")

    result.assert_outcomes(passed=2)


def test_a_test_outside_a_boundary_package_fails_saying_where_suites_live(tree: pytest.Pytester) -> None:
    (tree.path / "boundaries" / "test_loose.py").write_text(MANIFEST_TEST.format(name="one"))

    result = tree.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist", "boundaries")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*is not in a boundary suite: suites live in tests/boundaries/<boundary>/*"])


def test_email_is_fresh_for_every_test(tree: pytest.Pytester) -> None:
    add_suite(tree, "one", test=EMAIL_TEST)

    result = tree.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist", "boundaries")

    result.assert_outcomes(passed=2)
