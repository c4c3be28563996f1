"""The generic suite fixtures, in a throwaway test tree laid out like tests/boundaries (pytester)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT_CONFTEST = """
from tests.harness.fixtures import boundary, email, manifest, secrets
__all__ = ["boundary", "email", "manifest", "secrets"]
"""

SUITE_CONFTEST = """
import pytest

@pytest.fixture(scope="session")
def boundary() -> str:
    return "{name}"
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


def manifest_of(boundary: str) -> dict[str, object]:
    return {
        "boundary": boundary,
        "redis": {"url": "redis://127.0.0.1:1/0", "mode": "ephemeral", "host": "h", "program": f"{boundary}-redis"},
        "components": {},
        "hosts": {"h": {"testinfra": "local://", "supervisorctl": "supervisorctl"}},
        "secrets": {
            "dir": "/s",
            "host": "h",
            "service_tokens": "/s/tokens.json",
            "signing_key": "/s/key.pem",
            "token_keys": "/s/keys.json",
            "signing_kid": "kid",
        },
    }


@pytest.fixture
def tree(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.Pytester:
    """``suites/conftest.py`` registers the harness fixtures; manifests of ``one`` and ``two`` in a state dir."""
    state = tmp_path / "state"
    (state / "manifests").mkdir(parents=True)
    for name in ("one", "two"):
        (state / "manifests" / f"{name}.json").write_text(json.dumps(manifest_of(name)))
    monkeypatch.setenv("GALAXYLAB_STATE_DIR", str(state))
    monkeypatch.delenv("CI", raising=False)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.mkpydir("suites")
    (pytester.path / "suites" / "conftest.py").write_text(ROOT_CONFTEST)
    return pytester


def add_suite(tree: pytest.Pytester, name: str, *, declares_boundary: bool = True, test: str = MANIFEST_TEST) -> None:
    package = tree.path / "suites" / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    if declares_boundary:
        (package / "conftest.py").write_text(textwrap.dedent(SUITE_CONFTEST.format(name=name)))
    (package / "test_it.py").write_text(textwrap.dedent(test.format(name=name)))


def test_each_suite_gets_the_manifest_of_its_own_boundary(tree: pytest.Pytester) -> None:
    add_suite(tree, "one")
    add_suite(tree, "two")

    result = tree.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist", "suites")

    result.assert_outcomes(passed=2)


def test_suite_that_declares_no_boundary_fails_saying_how_to(tree: pytest.Pytester) -> None:
    add_suite(tree, "one", declares_boundary=False)

    result = tree.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist", "suites")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*must declare its boundary*session-scoped `boundary` fixture*"])


def test_email_is_fresh_for_every_test(tree: pytest.Pytester) -> None:
    add_suite(tree, "one", test=EMAIL_TEST)

    result = tree.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:xdist", "suites")

    result.assert_outcomes(passed=2)
