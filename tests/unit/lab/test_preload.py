"""playbooks/callback_plugins/galaxylab_preload.py: the galaxy.lab filters imported once in the controller
process, so the workers ansible-playbook forks per task inherit them instead of importing them again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
FILTERS = "ansible_collections.galaxy.lab.plugins.filter.lab"

# What ansible-playbook does before it loads callbacks: the collection loader over ansible.cfg's
# collections_path, then every callback beside the playbooks (callback_loader.all) and the ones it must
# load without being enabled.
LOAD_AS_ANSIBLE_PLAYBOOK_DOES = f"""
import sys
from ansible.plugins.loader import callback_loader, init_plugin_loader
init_plugin_loader([{str(REPO / "collections")!r}])
assert {FILTERS!r} not in sys.modules
callback_loader.add_directory({str(REPO / "playbooks" / "callback_plugins")!r})
loaded = [
    plugin._load_name for plugin in callback_loader.all(class_only=True)
    if not getattr(plugin, "CALLBACK_NEEDS_ENABLED", False)
]
print(sorted(loaded))
print({FILTERS!r} in sys.modules)
"""


def test_every_run_loads_it_and_the_filters_are_imported_before_any_worker_forks() -> None:
    result = subprocess.run(
        [sys.executable, "-c", LOAD_AS_ANSIBLE_PLAYBOOK_DOES], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded, imported = result.stdout.splitlines()[-2:]
    assert "galaxylab_preload" in loaded, "not loaded unless enabled: a plain ansible-playbook run would not get it"
    assert imported == "True", "the filters are not imported in the controller process"
