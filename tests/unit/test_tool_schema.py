from __future__ import annotations

from typing import Any

import pytest

from agent.schema_shapes import SchemaProfile
from agent.tool_schema import ArgumentValidator, model_parameters


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({}, {"type": "object", "properties": {}}),
        (
            {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"},
            {"type": "object", "properties": {}},
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        ),
    ],
)
def test_model_parameters_drop_schema_keys_and_always_have_properties(
    schema: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert model_parameters(schema) == expected


REF_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "definitions": {"Size": {"type": "integer", "exclusiveMinimum": 0}},
    "properties": {"size": {"$ref": "#/definitions/Size"}, "unit": {"const": "cm"}},
    "additionalProperties": False,
}


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        (
            "full",
            {
                "type": "object",
                "definitions": {"Size": {"type": "integer", "exclusiveMinimum": 0}},
                "properties": {"size": {"$ref": "#/definitions/Size"}, "unit": {"const": "cm"}},
                "additionalProperties": False,
            },
        ),
        (
            "gemini",
            {
                "type": "object",
                "properties": {
                    "size": {"type": "integer", "description": "exclusiveMinimum: 0"},
                    "unit": {"type": "string", "enum": ["cm"]},
                },
            },
        ),
    ],
)
def test_model_parameters_shape_the_schema_for_the_models_profile(
    profile: SchemaProfile, expected: dict[str, Any]
) -> None:
    assert model_parameters(REF_SCHEMA, profile) == expected


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"size": 3, "unit": "cm"}, None),
        ({"size": 0}, "0 is less than or equal to the minimum of 0 at 'size'"),
        ({"unit": "in"}, "'cm' was expected at 'unit'"),
        ({"size": 1, "colour": "red"}, "Additional properties are not allowed ('colour' was unexpected)"),
    ],
)
def test_the_validator_holds_arguments_to_the_original_schema_with_its_refs_and_keywords(
    arguments: dict[str, Any], problem: str | None
) -> None:
    assert ArgumentValidator(REF_SCHEMA).problem(arguments) == problem


@pytest.mark.parametrize(
    ("schema", "arguments", "problem"),
    [
        ({"type": "object", "properties": {"n": {"type": "integer"}}}, {"n": 1}, None),
        (
            {"type": "object", "properties": {"n": {"type": "integer"}}},
            {"n": "1"},
            "'1' is not of type 'integer' at 'n'",
        ),
        ({"type": "object", "required": ["q"]}, {}, "'q' is a required property"),
        ({"type": "object", "properties": {"x": {"type": "no-such-type"}}}, {"x": 1}, None),
        ({"type": "object", "properties": {"x": {"$ref": "#/$defs/missing"}}}, {"x": 1}, None),
        ({"type": 42}, {"x": 1}, None),
    ],
)
def test_arguments_are_checked_and_broken_schemas_check_nothing(
    schema: dict[str, Any], arguments: dict[str, Any], problem: str | None
) -> None:
    assert ArgumentValidator(schema).problem(arguments) == problem
