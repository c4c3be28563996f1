"""Record every task result of a run as JSON: which tasks changed, failed, and how long they took.

Enabled only on request (galaxylab.idempotence does):
    ANSIBLE_CALLBACK_PLUGINS=playbooks/callback_plugins ANSIBLE_CALLBACKS_ENABLED=galaxylab_report
    GALAXYLAB_ANSIBLE_REPORT=/path/report.json
The report holds no task results (they may carry secrets), only names, hosts, items and timings; the
items of a changed result are its changed loop items plus the paths a module names in ``changed_items``.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from ansible.plugins.callback import CallbackBase  # type: ignore[import-untyped]

DOCUMENTATION = """
name: galaxylab_report
type: aggregate
short_description: Write task names, hosts, status and durations of a run to a JSON file
description:
  - Writes the file named by the GALAXYLAB_ANSIBLE_REPORT environment variable at the end of the run.
requirements:
  - enable in callbacks_enabled
"""


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "galaxylab_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._started: dict[str, float] = {}
        self._results: list[dict[str, Any]] = []
        self._play = ""
        self._run_started = time.monotonic()

    def v2_playbook_on_play_start(self, play: Any) -> None:
        self._play = play.get_name()

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._started[task._uuid] = time.monotonic()

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        self._started[task._uuid] = time.monotonic()

    def _record(self, result: Any, status: str) -> None:
        task = result._task
        started = self._started.get(task._uuid, time.monotonic())
        changed = bool(result._result.get("changed", False)) and status == "ok"
        items = [
            str(item.get("_ansible_item_label", item.get("item", "")))
            for item in result._result.get("results", [])
            if isinstance(item, dict) and item.get("changed")
        ]
        # One call that converges many things (galaxy.lab.lab_files, galaxy.lab.release) names them itself.
        if changed:
            items += [str(item) for item in result._result.get("changed_items", []) or []]
        self._results.append(
            {
                "play": self._play,
                "task": task.get_name(),
                "action": task.action,
                "path": task.get_path(),
                "host": result._host.get_name(),
                "status": status,
                "changed": changed,
                "changed_items": items,
                "seconds": round(time.monotonic() - started, 3),
            }
        )

    def v2_runner_on_ok(self, result: Any) -> None:
        self._record(result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._record(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._record(result, "unreachable")

    def v2_playbook_on_stats(self, stats: Any) -> None:
        path = os.environ.get("GALAXYLAB_ANSIBLE_REPORT")
        if not path:
            return
        hosts = sorted(stats.processed.keys())
        report = {
            "seconds": round(time.monotonic() - self._run_started, 3),
            "stats": {host: stats.summarize(host) for host in hosts},
            "tasks": self._results,
        }
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=1)
