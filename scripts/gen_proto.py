"""Generate the gRPC code of contracts/proto into src/galaxy_contracts/gen (``make gen``).

The import root is mapped (``-Igalaxy_contracts/gen=contracts/proto``) so the
generated imports read ``galaxy_contracts.gen.galaxy.gateway.v1`` and never
collide with the services' ``galaxy`` package.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "contracts" / "proto"
INIT_DOC = '"""Generated from contracts/proto by `make gen`; do not edit."""\n'


def generate(out: Path) -> None:
    protos = sorted(str(p) for p in PROTO_ROOT.rglob("*.proto"))
    include = str(Path(protoc.__file__).parent / "_proto")
    args = [
        "protoc",
        f"-Igalaxy_contracts/gen={PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    gen = out / "galaxy_contracts" / "gen"
    for package in [gen, *(p for p in gen.rglob("*") if p.is_dir())]:
        (package / "__init__.py").write_text(INIT_DOC)


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "src")
