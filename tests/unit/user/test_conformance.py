"""The running app conforms to contracts/http/user.openapi.yaml (schemathesis, in process, bounded).

Generated ids almost never name an account, so a well-formed generated ``user_id`` is swapped for a
seeded account's: then 200 responses (not only 404s) of every operation are checked against the
contract too.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import fakeredis
import schemathesis
from starlette.applications import Starlette

from galaxy.user.adapters.accounts import RedisAccountStore
from galaxy.user.domain.model import Account, utcnow
from galaxy.user.main import create_app
from galaxy.user.settings import Settings
from galaxy_contracts import SPEC_DIR
from tests.unit.user.helpers import TOKENS

CONTRACT = SPEC_DIR / "http" / "user.openapi.yaml"
USER_ID = re.compile(r"^u_[0-9a-f]{32}$")
CONFIG = {
    "generation": {"max-examples": 25, "mode": "all", "deterministic": True},
    "headers": {"Authorization": f"Bearer {TOKENS['lab']}"},
    "checks": {
        # Every rule the service checks is in the schema (the display name's and reason's patterns), so
        # valid data is accepted; only a generated id may name no account.
        "positive_data_acceptance": {"expected-statuses": ["2xx", "404"]},
    },
}


def _app(server: fakeredis.FakeServer) -> Starlette:
    """The real app over fakeredis; the tokens file is read once, at creation."""
    with tempfile.TemporaryDirectory() as secrets:
        tokens = Path(secrets) / "service-tokens.json"
        tokens.write_text(json.dumps(TOKENS))
        settings = Settings(port=8030, admin_port=8031, service_tokens_file=tokens)
        return create_app(settings, fakeredis.FakeAsyncRedis(server=server, decode_responses=True))


async def _seed(server: fakeredis.FakeServer) -> str:
    redis = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    account, _ = await RedisAccountStore(redis).create_or_get(Account.new("seeded@example.com", None, utcnow()))
    await redis.aclose()
    return account.user_id


SERVER = fakeredis.FakeServer()
SEEDED_USER_ID = asyncio.run(_seed(SERVER))
schema = schemathesis.openapi.from_path(CONTRACT, config=schemathesis.Config.from_dict(CONFIG))
schema.app = _app(SERVER)


@schema.parametrize()
def test_user_api_conforms_to_its_contract(case: schemathesis.Case[Any]) -> None:
    if USER_ID.fullmatch(str(case.path_parameters.get("user_id", ""))):
        case.path_parameters["user_id"] = SEEDED_USER_ID
    case.call_and_validate()
