"""Figures a test reports even when it passes (e.g. how many deliveries arrived after a restart).

Each figure is a user property of the test (in the JUnit XML and HTML reports),
a line on the terminal when pytest runs in-process (without xdist), and a line
on the test's captured stdout (``-rP`` shows it).
"""

from __future__ import annotations

import pytest


def tell(request: pytest.FixtureRequest, name: str, text: str) -> None:
    request.node.user_properties.append((name, text))
    line = f"{request.node.nodeid}: {name}: {text}"
    print(line)
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is None or capture is None or hasattr(request.config, "workerinput"):
        return
    with capture.global_and_fixture_disabled():
        reporter.ensure_newline()
        reporter.write_line(line)
