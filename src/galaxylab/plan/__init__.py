"""The lab plan: boundaries + placement + hosts in, what every host runs out.

Pure data in, pure data out (JSON-able dicts), so Ansible uses it through the ``galaxy.lab``
filters and tests check it in-process. One module per concern:

- ``components.yaml`` / ``catalog``: every kind of component and its wiring, as data;
- ``inputs``: the boundaries, hosts and placement, parsed and validated;
- ``layout``: which host runs what, ports, addresses, host directories and readiness checks;
- ``wiring``: a component's environment from its catalog entry;
- ``manifests``: a boundary's manifest (``galaxylab.manifest.Manifest``);
- ``build``: the whole plan (hosts, slices, manifests) the playbooks loop over.
"""

from galaxylab.plan.build import (
    SLICE_SEPARATOR,
    boundary_hosts,
    build_plan,
    supervisor_environment,
    supervisor_quote,
)
from galaxylab.plan.catalog import PORT_SPAN, Catalog, CatalogError, ComponentSpec, Link, RedisAccess, default_catalog
from galaxylab.plan.files import (
    CALLERS,
    OPERATOR_TOKEN,
    REDIS_USERS,
    SECRET_FILES,
    SERVICE_TOKENS,
    SIGNING_KEY,
    SIGNING_KID,
    TOKEN_KEYS,
)
from galaxylab.plan.inputs import (
    ADMIN,
    LAB_GROUP,
    LAB_USER,
    Boundary,
    Host,
    Placement,
    PlanError,
    parse_hosts,
    parse_placement,
    select_boundaries,
)
from galaxylab.plan.wiring import RELEASE_ENV

__all__ = [
    "ADMIN",
    "CALLERS",
    "LAB_GROUP",
    "LAB_USER",
    "OPERATOR_TOKEN",
    "PORT_SPAN",
    "REDIS_USERS",
    "RELEASE_ENV",
    "SECRET_FILES",
    "SERVICE_TOKENS",
    "SIGNING_KEY",
    "SIGNING_KID",
    "SLICE_SEPARATOR",
    "TOKEN_KEYS",
    "Boundary",
    "Catalog",
    "CatalogError",
    "ComponentSpec",
    "Host",
    "Link",
    "Placement",
    "PlanError",
    "RedisAccess",
    "boundary_hosts",
    "build_plan",
    "default_catalog",
    "parse_hosts",
    "parse_placement",
    "select_boundaries",
    "supervisor_environment",
    "supervisor_quote",
]
