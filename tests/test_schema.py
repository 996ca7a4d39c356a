"""Lead schemas: loading, refusing with one clear line, and describing fields."""

from __future__ import annotations

import json
import pathlib

import pytest
from conftest import ACME as CONFORMANCE
from conftest import NO_ACME

from policy.model.schema import (
    FieldInfo,
    LeadSchema,
    SchemaError,
    format_path,
    load_schema,
    parse_schema,
)

ACME = CONFORMANCE / "lead.schema.json"


def schema_of(document: object) -> LeadSchema:
    return parse_schema(json.dumps(document).encode(), source="lead.schema.json")


def refusal(document: object | bytes) -> str:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    with pytest.raises(SchemaError) as caught:
        parse_schema(raw, source="lead.schema.json")
    message = caught.value.message
    assert "\n" not in message and str(caught.value) == message
    return message


# -- loading and refusing ------------------------------------------------------------


@pytest.mark.skipif(
    not ACME.exists(), reason=NO_ACME
)
def test_acme_schema() -> None:
    schema = load_schema(ACME)
    assert schema.raw == ACME.read_bytes()
    assert schema.document["title"] == "Acme lead record"
    assert schema.required == ("lead_id", "created_at")
    assert schema.lookup(("company", "employees")) == FieldInfo(
        path=("company", "employees"), types=frozenset({"integer", "null"})
    )
    assert schema.lookup(("company",)).types == {"object", "null"}
    job = schema.lookup(("job_level",))
    assert job.types == {"string", "null"}
    assert job.enum == ("c-level", "vp", "director", "manager", "ic", None)
    created = schema.lookup(("created_at",))
    assert created.is_timestamp and created.required and created.format == "date-time"
    assert [f.dotted for f in schema.timestamp_fields()] == [
        "created_at",
        "last_activity_at",
        "mql_at",
        "accepted_at",
        "rejected_at",
    ]
    assert ("bant", "need") in schema.known_paths()
    assert schema.known_paths().index(("company",)) < schema.known_paths().index(
        ("company", "employees")
    )
    assert schema.lookup(("company", "nope")) is None
    assert schema.allows_additional(()) and schema.allows_additional(("company",))
    assert schema == load_schema(ACME) and hash(schema) == hash(load_schema(ACME))


def test_missing_file(tmp_path: pathlib.Path) -> None:
    with pytest.raises(SchemaError, match=r"lead\.schema\.json: schema file not found$"):
        load_schema(tmp_path / "lead.schema.json")


def test_directory(tmp_path: pathlib.Path) -> None:
    with pytest.raises(SchemaError, match="is a directory"):
        load_schema(tmp_path)


def test_invalid_json_names_line_and_column(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "lead.schema.json"
    path.write_text('{\n  "type": "object",\n  "properties": {,}\n}\n')
    with pytest.raises(SchemaError) as caught:
        load_schema(path)
    assert caught.value.message == (
        f"{path}:3:18: not valid JSON: Expecting property name enclosed in double quotes"
    )


def test_not_utf8() -> None:
    assert refusal(b'{"title": "\xff"}') == "lead.schema.json: not UTF-8 (byte 12)"


def test_bom_is_accepted_and_raw_kept() -> None:
    raw = b'\xef\xbb\xbf{"properties": {"a": {"type": "string"}}}'
    schema = parse_schema(raw)
    assert schema.raw == raw and schema.lookup(("a",)).types == {"string"}


def test_nan_is_not_json() -> None:
    assert "NaN is not a JSON number" in refusal(b'{"properties": {"a": {"minimum": NaN}}}')


def test_top_level_must_be_an_object() -> None:
    assert refusal(True) == "lead.schema.json: a lead schema must be a JSON object, found boolean"
    assert refusal([]).endswith("found array")


def test_other_dialects_are_refused() -> None:
    message = refusal({"$schema": "http://json-schema.org/draft-07/schema#"})
    assert message.startswith(
        'lead.schema.json: declares $schema "http://json-schema.org/draft-07/schema#"'
    )
    assert '"https://json-schema.org/draft/2020-12/schema"' in message
    for uri in (
        "https://json-schema.org/draft/2020-12/schema",
        "https://json-schema.org/draft/2020-12/schema#",
        "http://json-schema.org/draft/2020-12/schema",
    ):
        schema_of({"$schema": uri})


def test_invalid_schema_names_the_keyword() -> None:
    message = refusal({"properties": {"company": {"properties": {"employees": {"type": "int"}}}}})
    assert message.startswith(
        "lead.schema.json: not a valid JSON Schema:"
        " at /properties/company/properties/employees/type:"
    )
    assert "'int'" in message
    assert refusal({"required": "lead_id"}).startswith(
        "lead.schema.json: not a valid JSON Schema: at /required: 'lead_id' is not of type 'array'"
    )
    assert "at /properties/a/minimum" in refusal({"properties": {"a": {"minimum": "0"}}})


def test_remote_references_are_refused() -> None:
    message = refusal({"properties": {"a": {"$ref": "https://example.com/a.json"}}})
    assert message == (
        'lead.schema.json: at /properties/a/$ref: $ref "https://example.com/a.json" is not'
        ' local; only references inside the schema file ("#/$defs/name") are supported'
    )


def test_dangling_references_are_refused() -> None:
    assert refusal({"properties": {"a": {"$ref": "#/$defs/missing"}}}) == (
        'lead.schema.json: at /properties/a/$ref: $ref "#/$defs/missing" points nowhere'
    )


# -- describing ------------------------------------------------------------------------


def test_types_from_type_enum_and_const() -> None:
    schema = schema_of(
        {
            "properties": {
                "a": {"type": "string"},
                "b": {"type": ["integer", "null"]},
                "c": {"enum": ["vp", None]},
                "d": {"enum": [1, 2.5, True]},
                "e": {"const": "x"},
                "f": {"type": ["string", "null"], "enum": ["x", "y"]},
                "g": {"type": "number", "enum": [1, 2]},
                "h": {},
                "i": {"type": "array", "items": {"type": "string", "format": "date"}},
                "j": {"type": "string", "format": "email"},
                "k": {"type": "string", "format": "date"},
            }
        }
    )
    types = {f.dotted: f.types for f in schema.fields.values()}
    assert types == {
        "a": {"string"},
        "b": {"integer", "null"},
        "c": {"string", "null"},
        "d": {"integer", "number", "boolean"},
        "e": {"string"},
        "f": {"string"},
        "g": {"integer"},
        "h": frozenset(),
        "i": {"array"},
        "j": {"string"},
        "k": {"string"},
    }
    assert schema.lookup(("e",)).enum == ("x",)
    assert schema.lookup(("f",)).enum == ("x", "y")
    assert schema.lookup(("i",)).items_types == {"string"}
    assert not schema.lookup(("i",)).is_timestamp
    assert schema.lookup(("j",)).format == "email" and not schema.lookup(("j",)).is_timestamp
    assert schema.lookup(("k",)).is_timestamp
    assert schema.required == ()


def test_nested_objects_refs_and_all_of() -> None:
    schema = schema_of(
        {
            "type": "object",
            "required": ["id"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string"},
                "company": {"$ref": "#/$defs/company"},
                "owner": {"$ref": "#/definitions/person"},
                "contact": {"allOf": [{"$ref": "#/$defs/person"}, {"required": ["email"]}]},
            },
            "$defs": {
                "company": {
                    "type": ["object", "null"],
                    "additionalProperties": False,
                    "properties": {"address": {"properties": {"city": {"type": "string"}}}},
                },
                "person": {
                    "type": "object",
                    "properties": {
                        "email": {"type": "string"},
                        "seen_at": {"type": "string", "format": "date-time"},
                    },
                },
            },
            "definitions": {"person": {"properties": {"name": {"type": "string"}}}},
        }
    )
    assert schema.required == ("id",)
    assert schema.known_paths() == (
        ("id",),
        ("company",),
        ("company", "address"),
        ("company", "address", "city"),
        ("owner",),
        ("owner", "name"),
        ("contact",),
        ("contact", "email"),
        ("contact", "seen_at"),
    )
    assert schema.lookup(("company",)).types == {"object", "null"}
    assert schema.lookup(("contact", "email")).required
    assert schema.lookup(("contact", "seen_at")).is_timestamp
    assert not schema.allows_additional(())
    assert not schema.allows_additional(("company",))
    assert schema.allows_additional(("company", "address"))
    assert schema.allows_additional(("no", "such"))


def test_any_of_reads_as_nullable() -> None:
    # The shape pydantic writes for Optional[datetime], Optional[Literal] and Optional[Model].
    schema = schema_of(
        {
            "properties": {
                "at": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
                "level": {"anyOf": [{"enum": ["vp", "ic"]}, {"type": "null"}]},
                "company": {"anyOf": [{"$ref": "#/$defs/Company"}, {"type": "null"}]},
                "mixed": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                "loose": {"anyOf": [{"type": "string"}, {}]},
            },
            "$defs": {
                "Company": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"employees": {"type": "integer"}},
                }
            },
        }
    )
    at = schema.lookup(("at",))
    assert at.types == {"string", "null"} and at.is_timestamp
    assert schema.lookup(("level",)).enum == ("vp", "ic", None)
    assert schema.lookup(("level",)).types == {"string", "null"}
    assert schema.lookup(("company",)).types == {"object", "null"}
    assert schema.lookup(("company", "employees")).types == {"integer"}
    assert not schema.allows_additional(("company",))
    assert schema.lookup(("mixed",)).types == {"string", "integer"}
    assert schema.lookup(("loose",)).types == frozenset()


def test_recursive_references_end() -> None:
    schema = schema_of(
        {
            "properties": {"root": {"$ref": "#/$defs/node"}, "self": {"$ref": "#"}},
            "$defs": {
                "node": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "child": {"$ref": "#/$defs/node"},
                    },
                }
            },
        }
    )
    assert ("root", "child") in schema.known_paths()
    assert ("root", "child", "name") not in schema.known_paths()
    assert ("self", "root", "name") in schema.known_paths()
    # each reference expands once per path: `self.self` exists, but is not expanded again
    assert schema.lookup(("self", "self")).types == frozenset()
    assert ("self", "self", "root") not in schema.known_paths()


def test_anchor_references() -> None:
    schema = schema_of(
        {
            "properties": {"a": {"$ref": "#when"}},
            "$defs": {"w": {"$anchor": "when", "type": "string", "format": "date"}},
        }
    )
    assert schema.lookup(("a",)).is_timestamp


def test_pattern_properties_keep_an_object_open() -> None:
    schema = schema_of(
        {"additionalProperties": False, "patternProperties": {"^x_": {"type": "string"}}}
    )
    assert schema.allows_additional(())
    closed = schema_of({"unevaluatedProperties": False, "properties": {"a": {}}})
    assert not closed.allows_additional(())


def test_keys_that_need_backticks() -> None:
    schema = schema_of({"properties": {"annual revenue": {"type": "number"}}})
    assert schema.lookup(("annual revenue",)).dotted == "`annual revenue`"


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ((), ""),
        (("lead_id",), "lead_id"),
        (("company", "employees"), "company.employees"),
        (("Lead_Source__c",), "Lead_Source__c"),
        (("company", "annual revenue"), "company.`annual revenue`"),
        (("a.b",), "`a.b`"),
        (("we`ird",), "`we``ird`"),
        (("tags", 2), "tags[2]"),
        (("tags", 0, "name"), "tags[0].name"),
        ((3,), "[3]"),
    ],
)
def test_format_path(path: tuple, text: str) -> None:
    assert format_path(path) == text


def test_fanning_references_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("policy.model.schema._MAX_SUBSCHEMAS", 2_000)
    defs = {
        f"d{i}": {
            "properties": {"a": {"$ref": f"#/$defs/d{i + 1}"}, "b": {"$ref": f"#/$defs/d{i + 1}"}}
        }
        for i in range(40)
    }
    defs["d40"] = {"type": "string"}
    schema = schema_of({"properties": {"x": {"$ref": "#/$defs/d0"}}, "$defs": defs})
    assert 100 < len(schema.fields) <= 2_000
    assert schema.lookup(("x", "a", "a")) is not None
