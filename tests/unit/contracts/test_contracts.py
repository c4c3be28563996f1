"""The contracts are coherent, loadable and what the code is generated from."""

from __future__ import annotations

import filecmp
import json
import re
import subprocess
import sys
from pathlib import Path

import jinja2.sandbox
import jsonschema
import pytest
import schemathesis
import yaml

from galaxy_contracts import SPEC_DIR, redis_keys, streams

ROOT = Path(__file__).resolve().parents[3]
HTTP_DOCS = sorted((SPEC_DIR / "http").glob("*.openapi.yaml"))
STREAM_SCHEMAS = sorted((SPEC_DIR / "streams").glob("*.schema.json"))
MIN_TYPES_PER_CHANNEL = 4


def test_generated_grpc_code_is_up_to_date(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_proto.py"), str(tmp_path)], check=True)
    fresh = tmp_path / "galaxy_contracts" / "gen"
    committed = ROOT / "src" / "galaxy_contracts" / "gen"
    fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*.py*"))
    assert fresh_files == sorted(
        p.relative_to(committed) for p in committed.rglob("*.py*") if "__pycache__" not in str(p)
    )
    stale = [str(f) for f in fresh_files if not filecmp.cmp(fresh / f, committed / f, shallow=False)]
    assert not stale, f"run `make gen`: stale generated files {stale}"


@pytest.mark.parametrize("doc", HTTP_DOCS, ids=lambda p: p.name)
def test_openapi_document_loads_and_every_operation_has_problem_errors(doc: Path) -> None:
    schema = schemathesis.openapi.from_path(str(doc))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:
        raw = operation.definition.raw
        takes_input = raw.get("security") != [] or raw.get("parameters") or raw.get("requestBody")
        error_statuses = [s for s in raw["responses"] if s.startswith(("4", "5"))]
        assert error_statuses or not takes_input, f"{operation.label} declares no error response"


@pytest.mark.parametrize("doc", HTTP_DOCS, ids=lambda p: p.name)
def test_every_error_response_is_problem_json(doc: Path) -> None:
    document = yaml.safe_load(doc.read_text())
    shared = yaml.safe_load((SPEC_DIR / "http" / "components" / "problem.yaml").read_text())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status, response in operation["responses"].items():
                if not status.startswith(("4", "5")):
                    continue
                if "$ref" in response:
                    response = shared["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
                assert list(response["content"]) == ["application/problem+json"], f"{method} {path} {status}"


@pytest.mark.parametrize("path", STREAM_SCHEMAS, ids=lambda p: p.name)
def test_stream_schema_is_valid_json_schema(path: Path) -> None:
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["additionalProperties"] is False
    assert all(spec.get("type") == "string" for spec in schema["properties"].values()), "stream fields are strings"


@pytest.mark.parametrize("stream", sorted(streams.SCHEMA_FILES))
def test_every_public_stream_is_documented_in_the_redis_contract(stream: str) -> None:
    assert f"`{stream}`" in (SPEC_DIR / "redis" / "keys.md").read_text()


def test_session_keys_match_the_redis_contract() -> None:
    doc = (SPEC_DIR / "redis" / "keys.md").read_text()
    assert f"`{redis_keys.session('{session_id}')}`" in doc
    assert f"`{redis_keys.user_sessions('{user_id}')}`" in doc


def test_catalog_has_enough_types_per_channel() -> None:
    assert len(streams.push_types()) >= MIN_TYPES_PER_CHANNEL
    assert len(streams.email_types()) >= MIN_TYPES_PER_CHANNEL
    both = set(streams.push_types()) & set(streams.email_types())
    assert both, "some types use both channels"


@pytest.mark.parametrize("intent_type", sorted(streams.catalog()["types"]))
def test_catalog_push_templates_render_with_declared_params(intent_type: str) -> None:
    spec = streams.catalog()["types"][intent_type]
    assert re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+", intent_type)
    assert "push" in spec or "email" in spec
    env = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    context = {"params": dict.fromkeys(spec["params"], "x"), "recipient": {"display_name": "A", "email": "a@b.c"}}
    for field in ("title", "body"):
        if "push" in spec:
            assert env.from_string(spec["push"][field]).render(context)


def test_intent_schema_accepts_a_valid_entry_and_refuses_unknown_fields() -> None:
    entry = {
        "intent_id": "i_" + "0" * 32,
        "type": "account.welcome",
        "user_id": "u_" + "a" * 32,
        "params": "{}",
        "occurred_at": "2026-01-01T00:00:00Z",
        "producer": "authsession",
    }
    streams.validate(redis_keys.NOTIFICATION_INTENTS, entry)
    with pytest.raises(streams.InvalidEntry, match="extra"):
        streams.validate(redis_keys.NOTIFICATION_INTENTS, entry | {"extra": "x"})
    with pytest.raises(streams.InvalidEntry, match="params"):
        streams.validate(redis_keys.NOTIFICATION_INTENTS, entry | {"params": "{not json"})


@pytest.mark.parametrize("doc", HTTP_DOCS, ids=lambda p: p.name)
def test_every_openapi_link_resolves_to_a_transition_of_stateful_testing(doc: Path) -> None:
    """Stateful fuzzing reaches existing accounts, challenges, sessions and deliveries only through links."""
    document = yaml.safe_load(doc.read_text())
    declared = {
        (operation["operationId"], status, name)
        for item in document["paths"].values()
        for method, operation in item.items()
        if method != "parameters"
        for status, response in operation["responses"].items()
        for name in response.get("links", {})
    }
    schema = schemathesis.openapi.from_path(str(doc))
    labels = {op.definition.raw["operationId"]: op.label for op in (r.ok() for r in schema.get_all_operations())}
    rules = dir(schema.as_state_machine())  # one rule per transition: <source>___<status>_<link>__<target>
    assert declared, f"{doc.name} declares no links"
    for operation_id, status, name in declared:
        source = labels[operation_id].replace(" ", "").replace("/", "_").replace("{", "").replace("}", "")
        assert any(rule.startswith(f"{source}___{status}_{name}__") for rule in rules), (operation_id, status, name)
