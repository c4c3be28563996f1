"""Import the lab's filter code once in the controller process, before any task forks a worker.

Every task runs in a worker forked from the controller process. A worker that templates a ``galaxy.lab.*``
filter imports the filter plugin and, through it, ``galaxylab`` (the planner, pydantic, the secrets code):
~0.2 CPU s, lost when the worker exits, and paid again by the next one (11 times in a bring-up: ~2 CPU s and
~0.15 s on each of those tasks). Imported here, in the process the workers are forked from, every worker
inherits the modules. Loaded automatically (``CALLBACK_NEEDS_ENABLED = False``) for the playbooks beside
``callback_plugins/``, whether ``galaxylab`` or ``ansible-playbook`` runs them; it reports nothing.
"""

from __future__ import annotations

# The galaxy.lab filters themselves, found through the collection loader ansible-playbook installs at start.
import ansible_collections.galaxy.lab.plugins.filter.lab  # noqa: F401
from ansible.plugins.callback import CallbackBase  # type: ignore[import-untyped]

DOCUMENTATION = """
name: galaxylab_preload
type: aggregate
short_description: Import the lab's filter code once in the controller process (its forked workers inherit it)
description:
  - Imports the galaxy.lab filter plugin (and galaxylab through it) at start; reports nothing.
"""


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "galaxylab_preload"
    CALLBACK_NEEDS_ENABLED = False
