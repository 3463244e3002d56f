"""Structured output: the final answer is JSON that matches a JSON Schema.

A model that takes ``response_format`` gets the schema there (``json_schema``, strict when the
schema allows it); one that does not gets it in the prompt. Either way the answer is parsed and
validated here, and a wrong answer is sent back once with what was wrong before the run fails.

The schema comes from ``--schema`` (a file, or the schema's JSON itself), ``schema=`` in the
API, or per run ``Agent.run(..., output_schema=Model)`` with a pydantic model.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent import safe_json
from agent.errors import ConfigError, OutputSchemaError
from agent.text import one_line

if TYPE_CHECKING:
    from pydantic import BaseModel

    from agent.result import RunResult

__all__ = [
    "MAX_SCHEMA_BYTES",
    "OutputSchema",
    "as_instance",
    "load_schema",
    "retry_instruction",
    "schema_instruction",
    "schema_of",
]

MAX_SCHEMA_BYTES = 1 << 20
"""The largest schema file read: a schema is a small document."""
_NAME = re.compile(r"[^a-zA-Z0-9_-]+")
_VALUES = frozenset({"enum", "const", "default", "examples"})
"""Keys whose values are data, not schemas."""
_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n(.*?)\n?\s*```\s*$", re.DOTALL)


@dataclass(frozen=True)
class OutputSchema:
    """A JSON Schema the answer must match, and what the request says about it.

    Attributes:
        schema: the schema as given.
        name: its name for ``response_format`` (from ``title``, else ``output``).
    """

    schema: Mapping[str, Any]
    name: str = "output"

    @classmethod
    def of(cls, schema: Mapping[str, Any], *, where: str = "--schema") -> OutputSchema:
        """Check ``schema`` is a JSON Schema (one ConfigError line naming ``where`` if not)."""
        import jsonschema

        if not isinstance(schema, Mapping):
            raise ConfigError(f"expected a JSON Schema object, got {type(schema).__name__}", source=where)
        try:
            jsonschema.validators.validator_for(schema).check_schema(dict(schema))
        except jsonschema.SchemaError as exc:
            path = "/".join(str(p) for p in exc.path)
            raise ConfigError(
                f"not a valid JSON Schema{f' at {path}' if path else ''}: {exc.message}", source=where
            ) from None
        title = schema.get("title")
        name = _NAME.sub("_", title).strip("_")[:64] if isinstance(title, str) else ""
        return cls(schema, name or "output")

    def response_format(self) -> dict[str, Any]:
        """OpenAI's ``json_schema`` response format: strict when the schema can be.

        Strict mode (OpenAI, and providers that follow it) needs every object closed
        (``additionalProperties: false``) with every property required; objects that say nothing
        about other properties are closed here. A schema with optional properties is sent
        without ``strict``: the answer is still validated.
        """
        schema = copy.deepcopy(dict(self.schema))
        strict = _close_objects(schema)
        return {
            "type": "json_schema",
            "json_schema": {"name": self.name, "strict": strict, "schema": schema},
        }

    def check(self, text: str) -> tuple[Any, str | None]:
        """The answer's JSON value and None; or None and one line saying what is wrong with it."""
        import jsonschema

        body = text.strip()
        fenced = _FENCE.match(body)
        if fenced:
            body = fenced.group(1).strip()
        if not body:
            return None, "the answer is empty; expected JSON"
        try:
            value = safe_json.loads(body)
        except (ValueError, RecursionError) as exc:
            return None, f"the answer is not JSON ({exc})"
        validator = jsonschema.validators.validator_for(self.schema)(self.schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path)
            at = f" at {where}" if where else ""
            return None, f"the answer does not match the schema{at}: {one_line(error.message, 300)}"
        return value, None


def schema_instruction(schema: OutputSchema) -> str:
    """What a model without ``response_format`` is told: answer with JSON matching the schema."""
    text = json.dumps(schema.schema, ensure_ascii=False, separators=(",", ":"))
    return (
        "When you give your final answer, answer with only a JSON value (no prose, no code fence) "
        f"that matches this JSON Schema:\n{text}"
    )


def retry_instruction(problem: str) -> str:
    """What the model is told when its answer did not match: the problem, and to answer again."""
    return f"Your answer was not accepted: {problem}. Answer again with only JSON that matches the schema."


def schema_of(schema: type[BaseModel] | Mapping[str, Any]) -> Mapping[str, Any]:
    """The JSON Schema of a pydantic model class, or a schema given as a mapping."""
    if isinstance(schema, type):
        from pydantic import BaseModel

        if not issubclass(schema, BaseModel):
            raise ConfigError(
                f"expected a pydantic model class or a JSON Schema, got {schema.__name__}",
                source="output_schema",
            )
        return schema.model_json_schema()
    return schema


def as_instance(result: RunResult, model: type[BaseModel]) -> None:
    """Make ``result.data`` an instance of ``model``; a value that does not fit fails the run."""
    from pydantic import ValidationError

    try:
        result.data = model.model_validate(result.data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        result.fail(
            OutputSchemaError(
                f"the answer does not fit {model.__name__}{f' at {where}' if where else ''}: {first['msg']}"
            )
        )


def load_schema(value: str | Mapping[str, Any], cwd: Path) -> OutputSchema:
    """``--schema``: a file (relative to ``cwd``), the schema's JSON text, or a mapping.

    Raises:
        ConfigError: the file cannot be read, is not JSON or YAML, or is not a JSON Schema.
    """
    if isinstance(value, Mapping):
        return OutputSchema.of(value)
    text = value.strip()
    if text.startswith("{"):
        try:
            document = safe_json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ConfigError(f"the schema is not valid JSON: {exc}", source="--schema") from None
        return OutputSchema.of(document)
    path = Path(text).expanduser()
    path = path if path.is_absolute() else cwd / path
    from agent.config.files import read_document

    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(f"cannot read {text}: {exc.strerror or exc}", source="--schema") from None
    if size > MAX_SCHEMA_BYTES:
        raise ConfigError(
            f"{text} is larger than {MAX_SCHEMA_BYTES // 1024} KiB; a schema is smaller", source="--schema"
        )
    return OutputSchema.of(read_document(path, text), where=f"--schema {text}")


def _close_objects(schema: Any) -> bool:
    """Close every object schema that leaves other properties open; whether strict mode fits."""
    strict = True
    if isinstance(schema, dict):
        if schema.get("type") == "object" or "properties" in schema:
            schema.setdefault("additionalProperties", False)
            properties = schema.get("properties")
            names = set(properties) if isinstance(properties, dict) else set()
            if schema["additionalProperties"] is not False or names - set(schema.get("required") or ()):
                strict = False
        for key, child in schema.items():
            if key in _VALUES:
                continue
            if key in ("properties", "$defs", "definitions", "patternProperties") and isinstance(child, dict):
                for item in child.values():
                    strict = _close_objects(item) and strict
            elif isinstance(child, dict | list):
                strict = _close_objects(child) and strict
    elif isinstance(schema, list):
        for item in schema:
            strict = _close_objects(item) and strict
    return strict
