"""Structured output: schemas loaded and checked, strict response formats, answers validated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from agent.errors import ConfigError
from agent.result import RunResult
from agent.structured import OutputSchema, as_instance, load_schema, schema_of

SCHEMA: dict[str, Any] = {
    "title": "Weather report!",
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {
            "type": "array",
            "items": {"type": "object", "properties": {"t": {"type": "number"}}, "required": ["t"]},
        },
    },
    "required": ["city", "days"],
    "default": {"type": "object", "properties": {}},
}


def test_a_closed_schema_with_every_property_required_is_strict() -> None:
    wire = OutputSchema.of(SCHEMA).response_format()
    assert wire["type"] == "json_schema"
    inner = wire["json_schema"]
    assert (inner["name"], inner["strict"]) == ("Weather_report", True)
    assert inner["schema"]["additionalProperties"] is False
    assert inner["schema"]["properties"]["days"]["items"]["additionalProperties"] is False
    assert inner["schema"]["default"] == {"type": "object", "properties": {}}  # data, not a schema
    assert "additionalProperties" not in SCHEMA  # the given schema is left as it was


def test_optional_properties_or_open_objects_are_not_strict() -> None:
    optional = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert OutputSchema.of(optional).response_format()["json_schema"]["strict"] is False
    opened = {"type": "object", "properties": {}, "additionalProperties": True}
    assert OutputSchema.of(opened).response_format()["json_schema"]["strict"] is False


@pytest.mark.parametrize(
    ("text", "value", "problem"),
    [
        ('{"city": "Oslo", "days": [{"t": 3.5}]}', {"city": "Oslo", "days": [{"t": 3.5}]}, None),
        ('```json\n{"city": "Oslo", "days": []}\n```', {"city": "Oslo", "days": []}, None),
        ("", None, "the answer is empty; expected JSON"),
        ("It is cold.", None, "the answer is not JSON"),
        ('{"city": "Oslo"}', None, "the answer does not match the schema: 'days' is a required property"),
        (
            '{"city": "Oslo", "days": [{"t": "cold"}]}',
            None,
            "the answer does not match the schema at days/0/t: 'cold' is not of type 'number'",
        ),
        ("[" * 10_000 + "]" * 10_000, None, "the answer is not JSON"),
    ],
)
def test_answers_are_parsed_and_validated(text: str, value: Any, problem: str | None) -> None:
    got, said = OutputSchema.of(SCHEMA).check(text)
    assert got == value
    if problem is None:
        assert said is None
    else:
        assert said is not None and said.startswith(problem), said


def test_schemas_load_from_json_text_files_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps(SCHEMA))
    (tmp_path / "s.yaml").write_text("type: object\nproperties:\n  a: {type: integer}\n")
    assert load_schema("s.json", tmp_path).schema == SCHEMA
    assert load_schema("s.yaml", tmp_path).schema["properties"] == {"a": {"type": "integer"}}
    assert load_schema(json.dumps(SCHEMA), tmp_path).name == "Weather_report"
    (tmp_path / "big.json").write_text(" " * (2 << 20) + "{}")
    with pytest.raises(ConfigError, match=r"^--schema: big.json is larger than 1024 KiB"):
        load_schema("big.json", tmp_path)
    with pytest.raises(ConfigError, match=r"^--schema: expected a JSON Schema object, got list"):
        OutputSchema.of([1])  # type: ignore[arg-type]


class Report(BaseModel):
    city: str
    degrees: float


def test_a_pydantic_model_gives_its_schema_and_its_instance() -> None:
    assert schema_of(Report)["properties"]["degrees"] == {"title": "Degrees", "type": "number"}
    result = RunResult(data={"city": "Oslo", "degrees": 3})
    as_instance(result, Report)
    assert result.data == Report(city="Oslo", degrees=3.0)
    wrong = RunResult(data={"city": "Oslo"})
    as_instance(wrong, Report)
    assert wrong.error is not None
    assert (wrong.stop_reason, wrong.error.type) == ("error", "OutputSchemaError")
    assert wrong.error.message == "the answer does not fit Report at degrees: Field required"
    with pytest.raises(ConfigError, match="expected a pydantic model class or a JSON Schema, got int"):
        schema_of(int)  # type: ignore[arg-type]
