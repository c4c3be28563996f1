"""``galaxylab``: the operator's command (``up``, ``check``, ``idempotence``, ``status``, ``logs``, ``down``).

One module per concern: ``app`` (the verbs), ``project`` and ``inventory`` (what is checked before
anything runs), ``hosts`` (the lab's hosts through testinfra), ``playbook`` and ``provision``
(bring-up, idempotence, teardown), ``checks`` and ``report`` (pytest and its failure-explaining
plugin), ``status`` (status and logs), ``output`` (tables, live views, JSON), ``errors``.
"""

from __future__ import annotations


def main() -> None:
    from galaxylab.cli.app import main as run

    raise SystemExit(run())
