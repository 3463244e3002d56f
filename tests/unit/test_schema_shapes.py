from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.schema_shapes import MAX_DEPTH, MAX_NODES, SCHEMA_PROFILES, SchemaProfile, shape, strictest

ANY = {"type": "string", "description": "any JSON value"}


def obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **extra}


FULL_CASES: list[tuple[str, Any, dict[str, Any]]] = [
    ("an empty schema is an object without properties", {}, obj({})),
    (
        "$schema and $id are dropped",
        {"$schema": "http://json-schema.org/draft-07/schema#", "$id": "urn:x", "type": "object"},
        obj({}),
    ),
    (
        "everything else passes through as declared",
        {
            "type": "object",
            "$defs": {"P": {"type": "object", "additionalProperties": False}},
            "properties": {
                "p": {"$ref": "#/$defs/P"},
                "k": {"const": "x", "$comment": "kept"},
                "n": {"type": ["string", "null"], "format": "email"},
                "u": {"anyOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "null"}]},
            },
            "required": ["p", "ghost"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "$defs": {"P": {"type": "object", "additionalProperties": False}},
            "properties": {
                "p": {"$ref": "#/$defs/P"},
                "k": {"const": "x", "$comment": "kept"},
                "n": {"type": ["string", "null"], "format": "email"},
                "u": {"anyOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "null"}]},
            },
            "required": ["p", "ghost"],
            "additionalProperties": False,
        },
    ),
    ("a root that is not an object schema becomes one", {"type": ["object", "null"]}, obj({})),
    ("properties that are not a mapping are replaced", {"properties": [1, 2]}, obj({})),
    ("a value that is not a schema at all is an empty object", ["not", "a", "schema"], obj({})),
]


@pytest.mark.parametrize(("schema", "expected"), [c[1:] for c in FULL_CASES], ids=[c[0] for c in FULL_CASES])
def test_the_full_profile_passes_the_schema_through_normalised_for_the_wire(
    schema: Any, expected: dict[str, Any]
) -> None:
    assert shape(schema, "full") == expected


GEMINI_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "$ref into $defs is inlined and $defs dropped",
        {
            "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number"}}}},
            "properties": {"at": {"$ref": "#/$defs/Point"}},
        },
        obj({"at": obj({"x": {"type": "number"}})}),
    ),
    (
        "definitions and any local JSON pointer resolve, with ~1 and percent escapes",
        {
            "definitions": {"a/b": {"type": "integer"}, "c d": {"type": "boolean"}},
            "properties": {
                "one": {"$ref": "#/definitions/a~1b"},
                "two": {"$ref": "#/definitions/c%20d"},
                "three": {"$ref": "#/properties/one"},
            },
        },
        obj({"one": {"type": "integer"}, "two": {"type": "boolean"}, "three": {"type": "integer"}}),
    ),
    (
        "siblings of $ref win over the target",
        {
            "$defs": {"Name": {"type": "string", "description": "a name"}},
            "properties": {"who": {"$ref": "#/$defs/Name", "description": "who books"}},
        },
        obj({"who": {"type": "string", "description": "who books"}}),
    ),
    (
        "a recursive $ref is expanded once, then cut with a description",
        {
            "$defs": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                    },
                }
            },
            "properties": {"tree": {"$ref": "#/$defs/Node"}},
        },
        obj(
            {
                "tree": obj(
                    {
                        "name": {"type": "string"},
                        "children": {
                            "type": "array",
                            "items": {"type": "object", "description": "recursive: the same shape as Node"},
                        },
                    }
                )
            }
        ),
    ),
    (
        "a $ref to the whole schema is cut at once",
        {"properties": {"again": {"$ref": "#"}, "n": {"type": "integer"}}},
        obj(
            {
                "again": {"type": "object", "description": "recursive: the same shape as the whole schema"},
                "n": {"type": "integer"},
            }
        ),
    ),
    (
        "an unresolvable or remote $ref leaves its siblings",
        {
            "properties": {
                "a": {"$ref": "#/$defs/missing", "description": "lost"},
                "b": {"$ref": "https://example.com/schema.json", "type": "integer"},
            }
        },
        obj({"a": {"type": "string", "description": "lost (any JSON value)"}, "b": {"type": "integer"}}),
    ),
    (
        "additionalProperties is dropped; a map's value schema goes into the description",
        {
            "additionalProperties": False,
            "properties": {
                "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                "meta": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}},
                    "additionalProperties": True,
                },
            },
        },
        obj(
            {
                "tags": {"type": "object", "description": 'any keys allowed, each value: {"type":"string"}'},
                "meta": obj({"id": {"type": "string"}}),
            }
        ),
    ),
    (
        "const becomes a one-value enum on strings and a description elsewhere",
        {
            "properties": {
                "kind": {"const": "booking"},
                "version": {"const": 2, "description": "Schema version"},
                "flag": {"type": "boolean", "const": True},
            }
        },
        obj(
            {
                "kind": {"type": "string", "enum": ["booking"]},
                "version": {"type": "integer", "description": "Schema version (must be: 2)"},
                "flag": {"type": "boolean", "description": "must be: true"},
            }
        ),
    ),
    (
        "enum stays only on strings; a null member makes the node nullable",
        {
            "properties": {
                "size": {"type": "integer", "enum": [1, 2, 3]},
                "color": {"enum": ["red", "blue", None]},
                "mixed": {"enum": ["a", 1]},
            }
        },
        obj(
            {
                "size": {"type": "integer", "description": "one of: 1, 2, 3"},
                "color": {"type": "string", "enum": ["red", "blue"], "nullable": True},
                "mixed": {"type": "string", "description": 'any JSON value; one of: "a", 1'},
            }
        ),
    ),
    (
        "a type list with null becomes the type and nullable",
        {"properties": {"note": {"type": ["string", "null"], "maxLength": 200}}},
        obj({"note": {"type": "string", "maxLength": 200, "nullable": True}}),
    ),
    (
        "a type list of several types becomes anyOf, each branch with its own keywords",
        {
            "properties": {
                "v": {
                    "type": ["string", "integer", "null"],
                    "minLength": 1,
                    "minimum": 0,
                    "description": "a value",
                }
            }
        },
        obj(
            {
                "v": {
                    "anyOf": [{"type": "string", "minLength": 1}, {"type": "integer", "minimum": 0}],
                    "nullable": True,
                    "description": "a value",
                }
            }
        ),
    ),
    (
        "anyOf with null collapses to the other branch, keeping the outer description",
        {
            "properties": {
                "when": {
                    "anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}],
                    "default": None,
                    "title": "When",
                }
            }
        },
        obj({"when": {"type": "string", "format": "date-time", "nullable": True, "description": "When"}}),
    ),
    (
        "oneOf of string constants becomes one enum",
        {"properties": {"mode": {"oneOf": [{"const": "fast"}, {"const": "safe"}], "description": "How"}}},
        obj({"mode": {"type": "string", "enum": ["fast", "safe"], "description": "How"}}),
    ),
    (
        "a union of different shapes stays anyOf; the outer type's keywords move into the branches",
        {
            "properties": {
                "target": {
                    "type": "object",
                    "required": ["id"],
                    "anyOf": [
                        {"properties": {"id": {"type": "integer"}}},
                        {"type": "string", "format": "uri"},
                        {"type": "null"},
                    ],
                }
            }
        },
        obj(
            {
                "target": {
                    "anyOf": [
                        {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
                        {"type": "string", "description": "format: uri"},
                    ],
                    "nullable": True,
                }
            }
        ),
    ),
    (
        "allOf is merged into one node",
        {
            "$defs": {
                "Base": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}
            },
            "properties": {
                "item": {
                    "allOf": [
                        {"$ref": "#/$defs/Base"},
                        {"properties": {"qty": {"type": "integer"}}, "required": ["qty"]},
                    ]
                }
            },
        },
        obj({"item": obj({"id": {"type": "string"}, "qty": {"type": "integer"}}, required=["id", "qty"])}),
    ),
    (
        "keywords Gemini does not know are dropped; a title stands in for a missing description",
        {
            "$comment": "internal",
            "title": "Args",
            "properties": {
                "q": {
                    "type": "string",
                    "title": "Query",
                    "examples": ["cats"],
                    "$comment": "x",
                    "propertyNames": {"pattern": "^a"},
                    "not": {"const": ""},
                    "deprecated": True,
                    "pattern": "^[a-z]+$",
                },
                "r": {"type": "string", "title": "Ignored", "description": "Kept"},
            },
        },
        obj(
            {
                "q": {"type": "string", "pattern": "^[a-z]+$", "description": "Query"},
                "r": {"type": "string", "description": "Kept"},
            },
            description="Args",
        ),
    ),
    (
        "formats are kept only where Gemini takes them",
        {
            "properties": {
                "at": {"type": "string", "format": "date-time"},
                "mail": {"type": "string", "format": "email", "description": "Where to write"},
                "big": {"type": "integer", "format": "int64"},
                "odd": {"type": "integer", "format": "float"},
                "pick": {"type": "string", "format": "enum", "enum": ["a"]},
            }
        },
        obj(
            {
                "at": {"type": "string", "format": "date-time"},
                "mail": {"type": "string", "description": "Where to write (format: email)"},
                "big": {"type": "integer", "format": "int64"},
                "odd": {"type": "integer", "description": "format: float"},
                "pick": {"type": "string", "enum": ["a"]},
            }
        ),
    ),
    (
        "constraints Gemini lacks go into the description",
        {
            "properties": {
                "n": {
                    "type": "integer",
                    "exclusiveMinimum": 0,
                    "multipleOf": 5,
                    "default": 10,
                    "maximum": 100,
                },
                "ids": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "maxItems": 3},
            }
        },
        obj(
            {
                "n": {
                    "type": "integer",
                    "maximum": 100,
                    "description": "default: 10; exclusiveMinimum: 0; multipleOf: 5",
                },
                "ids": {
                    "type": "array",
                    "maxItems": 3,
                    "items": {"type": "string"},
                    "description": "uniqueItems: true",
                },
            }
        ),
    ),
    (
        "required names only declared properties, each once",
        {"properties": {"a": {"type": "string"}}, "required": ["a", "ghost", "a", 3]},
        obj({"a": {"type": "string"}}, required=["a"]),
    ),
    (
        "a keyword of another type is dropped",
        {
            "properties": {
                "s": {
                    "type": "string",
                    "properties": {"x": {}},
                    "required": ["x"],
                    "items": {},
                    "minimum": 1,
                },
                "o": {"type": "object", "items": {"type": "string"}, "maxLength": 3},
            }
        },
        obj({"s": {"type": "string"}, "o": {"type": "object"}}),
    ),
    (
        "an array always has items; a tuple becomes a union of its positions",
        {
            "properties": {
                "any": {"type": "array"},
                "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
                "old": {"items": [{"type": "number"}, {"type": "number"}]},
            }
        },
        obj(
            {
                "any": {"type": "array", "items": ANY},
                "pair": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                "old": {"type": "array", "items": {"type": "number"}},
            }
        ),
    ),
    (
        "a node without a type gets one from its keywords, or takes any value",
        {
            "properties": {
                "o": {"properties": {"a": {"type": "string"}}},
                "s": {"maxLength": 3},
                "n": {"minimum": 0.5},
                "x": {},
                "t": True,
            }
        },
        obj(
            {
                "o": obj({"a": {"type": "string"}}),
                "s": {"type": "string", "maxLength": 3},
                "n": {"type": "number", "minimum": 0.5},
                "x": ANY,
                "t": ANY,
            }
        ),
    ),
    (
        "OpenAPI's own nullable is understood",
        {"properties": {"a": {"type": "string", "nullable": True}}},
        obj({"a": {"type": "string", "nullable": True}}),
    ),
    (
        "a root of several object shapes becomes one object with every property",
        {
            "oneOf": [
                {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
                {
                    "type": "object",
                    "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                    "required": ["id", "name"],
                },
            ],
            "description": "Find a thing",
        },
        obj(
            {"id": {"type": "string"}, "name": {"type": "string"}},
            required=["id"],
            description="Find a thing (one of several argument shapes; send one)",
        ),
    ),
    (
        "a root that is not an object is an empty object; null is not allowed at the root",
        {"type": ["string", "null"], "description": "odd"},
        obj({}, description="odd"),
    ),
    (
        "a root allowing null is just the object",
        {"type": ["object", "null"], "properties": {"a": {"type": "integer"}}},
        obj({"a": {"type": "integer"}}),
    ),
]


@pytest.mark.parametrize(
    ("schema", "expected"), [c[1:] for c in GEMINI_CASES], ids=[c[0] for c in GEMINI_CASES]
)
def test_the_gemini_profile_rewrites_the_schema_into_googles_openapi_subset(
    schema: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert shape(schema, "gemini") == expected


def nested(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"n": schema}}
    return schema


def depth_of(schema: dict[str, Any]) -> int:
    inner = schema.get("properties", {}).get("n")
    return 1 + depth_of(inner) if isinstance(inner, dict) else 0


def test_nesting_past_the_depth_bound_is_cut_with_a_description() -> None:
    shaped = shape(nested(MAX_DEPTH + 10), "gemini")
    assert depth_of(shaped) == MAX_DEPTH
    deepest = shaped
    for _ in range(MAX_DEPTH):
        deepest = deepest["properties"]["n"]
    assert deepest == {"type": "object", "description": "nested too deeply to show"}


def count_nodes(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(count_nodes(v) for v in value.values())
    if isinstance(value, list):
        return sum(count_nodes(v) for v in value)
    return 0


def test_refs_that_would_multiply_exponentially_stay_within_the_node_budget() -> None:
    levels = 40  # each level refers to the next twice: 2**40 nodes if expanded in full
    defs = {
        f"D{i}": {
            "type": "object",
            "properties": {"a": {"$ref": f"#/$defs/D{i + 1}"}, "b": {"$ref": f"#/$defs/D{i + 1}"}},
        }
        for i in range(levels)
    }
    defs[f"D{levels}"] = {"type": "string"}
    shaped = shape({"$defs": defs, "properties": {"root": {"$ref": "#/$defs/D0"}}}, "gemini")
    assert count_nodes(shaped) <= 3 * MAX_NODES
    assert "nested too deeply to show" in json.dumps(shaped)


def test_a_deeply_nested_value_in_a_described_keyword_does_not_break_the_shaper() -> None:
    default: Any = 0
    for _ in range(5000):
        default = [default]
    assert shape({"properties": {"x": {"type": "integer", "default": default}}}, "gemini") == obj(
        {"x": {"type": "integer", "description": "default: ..."}}
    )


@pytest.mark.parametrize(
    ("profiles", "expected"),
    [
        ([], "full"),
        ([None], "full"),
        (["full", None], "full"),
        (["full", "gemini", None], "gemini"),
        (["gemini"], "gemini"),
    ],
)
def test_strictest_is_the_profile_every_model_of_a_chain_accepts(
    profiles: list[SchemaProfile | None], expected: SchemaProfile
) -> None:
    assert strictest(profiles) == expected


# -- properties --------------------------------------------------------------------------------

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=30,
)
TYPE_NAMES = st.sampled_from(["string", "integer", "number", "boolean", "array", "object", "null", "x"])
REFS = st.sampled_from(
    ["#", "#/$defs/A", "#/$defs/B", "#/definitions/C", "#/properties/a", "#/$defs/gone", "http://x/s", "#a"]
)
FORMATS = st.sampled_from(["date-time", "email", "uri", "int32", "int64", "float", "double", "enum"])
NAMES = st.sampled_from(["a", "b", "c"])


def schema_node(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A few schema keywords, each with values right, wrong or nested."""
    keywords: dict[str, st.SearchStrategy[Any]] = {
        "type": TYPE_NAMES | st.lists(TYPE_NAMES, max_size=3) | JSON_SCALARS,
        "properties": st.dictionaries(NAMES, inner, max_size=3) | JSON_SCALARS,
        "required": st.lists(NAMES | JSON_SCALARS, max_size=3),
        "items": inner | st.lists(inner, max_size=2),
        "prefixItems": st.lists(inner, max_size=2),
        "enum": st.lists(JSON_SCALARS, max_size=3),
        "const": JSON_SCALARS,
        "anyOf": st.lists(inner, max_size=3),
        "oneOf": st.lists(inner, max_size=3),
        "allOf": st.lists(inner, max_size=3),
        "$ref": REFS,
        "$defs": st.dictionaries(st.sampled_from(["A", "B"]), inner, max_size=2),
        "definitions": st.dictionaries(st.just("C"), inner, max_size=1),
        "additionalProperties": st.booleans() | inner,
        "format": FORMATS | JSON_SCALARS,
        "nullable": JSON_SCALARS,
        "description": JSON_SCALARS,
        "title": JSON_SCALARS,
        "default": JSON_VALUES,
        "minimum": JSON_SCALARS,
        "exclusiveMinimum": JSON_SCALARS,
        "minLength": JSON_SCALARS,
        "pattern": JSON_SCALARS,
        "minItems": JSON_SCALARS,
        "$comment": JSON_SCALARS,
    }
    pairs = st.one_of([st.tuples(st.just(key), value) for key, value in keywords.items()])
    return st.lists(pairs, max_size=5).map(dict)


SCHEMAS: st.SearchStrategy[Any] = st.recursive(JSON_SCALARS | st.just({}), schema_node, max_leaves=20)
ANY_INPUT = SCHEMAS | JSON_VALUES

GEMINI_KEYS = {
    "type", "format", "description", "nullable", "enum", "properties", "required", "items",
    "minItems", "maxItems", "minimum", "maximum", "minLength", "maxLength", "pattern", "anyOf",
}  # fmt: skip
ONLY_FOR = {
    "properties": {"object"},
    "required": {"object"},
    "items": {"array"},
    "minItems": {"array"},
    "maxItems": {"array"},
    "minLength": {"string"},
    "maxLength": {"string"},
    "pattern": {"string"},
    "enum": {"string"},
    "minimum": {"integer", "number"},
    "maximum": {"integer", "number"},
}
FORMATS_FOR = {"string": {"date-time"}, "integer": {"int32", "int64"}, "number": {"float", "double"}}


def assert_gemini_node(node: Any, *, root: bool = False) -> None:
    """Everything Gemini's function-declaration Schema is known to reject, checked on every node."""
    assert isinstance(node, dict)
    assert set(node) <= GEMINI_KEYS
    assert isinstance(node.get("description", ""), str)
    assert node.get("nullable", True) is True
    if "anyOf" in node:
        assert set(node) <= {"anyOf", "description", "nullable"}
        assert len(node["anyOf"]) >= 2
        for branch in node["anyOf"]:
            assert_gemini_node(branch)
        return
    kind = node["type"]
    assert kind in {"string", "integer", "number", "boolean", "array", "object"}
    for key, kinds in ONLY_FOR.items():
        assert key not in node or kind in kinds, (key, node)
    assert "format" not in node or node["format"] in FORMATS_FOR.get(kind, set())
    if "enum" in node:
        assert node["enum"] and all(isinstance(v, str) for v in node["enum"])
    if kind == "array":
        assert_gemini_node(node["items"])
    if kind == "object":
        props = node.get("properties", {})
        assert root or "properties" not in node or props, "Gemini: properties must not be empty"
        assert set(node.get("required", [])) <= set(props)
        for sub in props.values():
            assert_gemini_node(sub)


@given(ANY_INPUT, st.sampled_from(SCHEMA_PROFILES))
def test_any_json_value_gives_an_object_schema_in_every_profile_without_raising(
    schema: Any, profile: SchemaProfile
) -> None:
    before = copy.deepcopy(schema)
    shaped = shape(schema, profile)
    assert shaped["type"] == "object"
    assert isinstance(shaped["properties"], dict)
    json.dumps(shaped)
    assert schema == before  # pure: the server's schema is left as it was


@given(ANY_INPUT)
def test_the_gemini_profile_only_produces_what_geminis_schema_accepts(schema: Any) -> None:
    assert_gemini_node(shape(schema, "gemini"), root=True)


@given(ANY_INPUT)
def test_shaping_for_gemini_twice_changes_nothing_more(schema: Any) -> None:
    once = shape(schema, "gemini")
    assert shape(once, "gemini") == once


@given(schema_node(SCHEMAS))
def test_the_full_profile_keeps_every_keyword_but_the_wire_ones(schema: dict[str, Any]) -> None:
    shaped = shape(schema, "full")
    kept = {k: v for k, v in schema.items() if k not in {"$schema", "$id", "type", "properties"}}
    assert {k: v for k, v in shaped.items() if k not in {"type", "properties"}} == kept
    if isinstance(schema.get("properties"), dict):
        assert shaped["properties"] == schema["properties"]
