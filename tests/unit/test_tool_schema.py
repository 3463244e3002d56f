from __future__ import annotations

from typing import Any

import pytest

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
