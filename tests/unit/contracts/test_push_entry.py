"""galaxy_contracts.push: the gateway's typed model of a ``gateway:push`` entry and
contracts/streams/gateway-push.schema.json accept and refuse the same entries."""

from __future__ import annotations

import json

import pytest

from galaxy_contracts import redis_keys, streams
from galaxy_contracts.entries import InvalidEntry
from galaxy_contracts.push import PushFields, parse_push

SCHEMA = streams.schema(redis_keys.GATEWAY_PUSH)

VALID: dict[str, object] = {
    "intent_id": "i_" + "0" * 32,
    "type": "account.welcome",
    "user_id": "u_" + "a" * 32,
    "title": "Welcome",
    "body": "Hello",
    "data": '{"k": 1}',
    "created_at": "2026-01-01T00:00:00+00:00",
}


def test_the_model_has_the_schemas_fields_all_required_and_no_others() -> None:
    assert SCHEMA["additionalProperties"] is False
    assert PushFields.model_config.get("extra") == "forbid"
    assert set(PushFields.model_fields) == set(SCHEMA["properties"]) == set(SCHEMA["required"])
    assert all(field.is_required() for field in PushFields.model_fields.values())


def _constraint(name: str, kind: str) -> object:
    for item in PushFields.model_fields[name].metadata:
        value = getattr(item, kind, None)
        if value is not None:
            return value
    return None


@pytest.mark.parametrize("name", sorted(SCHEMA["properties"]))
def test_each_fields_pattern_and_length_are_the_schemas(name: str) -> None:
    spec = SCHEMA["properties"][name]
    assert _constraint(name, "pattern") == spec.get("pattern")
    assert _constraint(name, "max_length") == spec.get("maxLength")


def _cases() -> dict[str, dict[str, object]]:
    """Entries at and across every rule of the schema."""
    cases: dict[str, dict[str, object]] = {"valid": VALID}
    for name in VALID:
        cases[f"without {name}"] = {k: v for k, v in VALID.items() if k != name}
        cases[f"{name} not a string"] = VALID | {name: 1}
    cases["an extra field"] = VALID | {"extra": "x"}
    for name, spec in SCHEMA["properties"].items():
        if "maxLength" in spec:
            cases[f"{name} at its limit"] = VALID | {name: "é" * spec["maxLength"]}
            cases[f"{name} one over"] = VALID | {name: "é" * (spec["maxLength"] + 1)}
    for name, prefix in (("intent_id", "i_"), ("user_id", "u_")):
        cases[f"{name} upper-case hex"] = VALID | {name: prefix + "A" * 32}
        cases[f"{name} short"] = VALID | {name: prefix + "0" * 31}
        cases[f"{name} long"] = VALID | {name: prefix + "0" * 33}
        cases[f"{name} other prefix"] = VALID | {name: "x_" + "0" * 32}
    cases["data not JSON"] = VALID | {"data": "{not json"}
    cases["data a JSON string"] = VALID | {"data": '"s"'}
    cases["empty type"] = VALID | {"type": ""}
    return cases


CASES = _cases()


def _schema_accepts(entry: dict[str, object]) -> bool:
    try:
        streams.validate(redis_keys.GATEWAY_PUSH, entry)  # type: ignore[arg-type]
    except InvalidEntry:
        return False
    return True


def _model_accepts(entry: dict[str, object]) -> bool:
    try:
        parse_push(entry)
    except InvalidEntry:
        return False
    return True


@pytest.mark.parametrize("case", sorted(CASES))
def test_model_and_schema_agree(case: str) -> None:
    entry = CASES[case]
    assert _model_accepts(entry) == _schema_accepts(entry), json.dumps(entry)[:200]


def test_a_refusal_names_the_stream_and_the_field() -> None:
    with pytest.raises(InvalidEntry, match=r"^gateway:push: user_id: String should match pattern"):
        parse_push(VALID | {"user_id": "nobody"})
    with pytest.raises(InvalidEntry, match=r"^gateway:push: data: Value error, not JSON"):
        parse_push(VALID | {"data": "{"})
    with pytest.raises(InvalidEntry, match=r"^gateway:push: extra: Extra inputs are not permitted"):
        parse_push(VALID | {"extra": "x"})


@pytest.mark.parametrize("created_at", ["yesterday", "2026-13-01T00:00:00Z", ""])
def test_a_created_at_that_is_no_date_time_is_refused(created_at: str) -> None:
    # The schema's ``format: date-time`` is not checked by jsonschema without rfc3339-validator; the model
    # checks it (as the gateway did after the schema) so a bad one is refused with the field named.
    with pytest.raises(InvalidEntry, match=r"^gateway:push: created_at: "):
        parse_push(VALID | {"created_at": created_at})
