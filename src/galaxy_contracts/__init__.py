"""Galaxy's published contracts as code: generated gRPC stubs, typed HTTP clients,
stream schemas and the notification catalog.

Importable by services and tests alike; imports nothing of ``galaxy.*``.
The source of truth is ``contracts/`` at the repository root (shipped inside
this package as ``spec/``).
"""

from pathlib import Path

SPEC_DIR = Path(__file__).resolve().parent / "spec"
