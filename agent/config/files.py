"""Reading config files and validating them: the one boundary for yaml, json and pydantic errors.

Every failure becomes a :class:`~agent.errors.ConfigError` whose text is one line naming the
file, the field path (``config.timeout_seconds``, ``mcpServers.fs.args[0]``) or line, and what
was expected. Inputs of fields that may hold secrets are described by type, never shown.
"""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from agent.errors import ConfigError

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_DEPTH",
    "SECRET_FIELDS",
    "describe_error",
    "format_loc",
    "read_document",
    "validate",
]

ModelT = TypeVar("ModelT", bound=BaseModel)

SECRET_FIELDS = frozenset({"api_key", "headers", "env"})
"""Field names whose values are never echoed in errors (keys, tokens, Authorization headers)."""

MAX_CONFIG_BYTES = 1024 * 1024
"""Config files are small; a bigger one is refused before it is parsed."""
MAX_DEPTH = 32
"""Deepest nesting of mappings and lists a config file may have."""

_EXPECTED = {
    "missing": "required field is missing",
    "string_type": "expected a string",
    "string_too_short": "expected a non-empty string",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
}
_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "at least"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "at most"),
}


def format_loc(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """Join a field path as ``a.b[0].c``: the form every config error uses."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def read_document(path: Path, source: str | None = None) -> dict[str, Any]:
    """Parse ``path`` as JSON (``.json``) or YAML (anything else) and return its top-level mapping.

    ``source`` is how messages name the file (default: ``path`` as given).

    Raises:
        ConfigError: the file is missing or unreadable, does not parse (with its line), or its
            top level is not a mapping.
    """
    source = source or str(path)
    try:
        with path.open("rb") as handle:
            blob = handle.read(MAX_CONFIG_BYTES + 1)
        if len(blob) > MAX_CONFIG_BYTES:
            raise ConfigError(f"file is larger than {MAX_CONFIG_BYTES // 1024} KiB", source=source)
        text = blob.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", source=source) from None
    except IsADirectoryError:
        raise ConfigError("expected a file, got a directory", source=source) from None
    except UnicodeDecodeError:
        raise ConfigError("expected UTF-8 text", source=source) from None
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror or type(exc).__name__}", source=source) from None
    data = _parse_json(text, source) if path.suffix.lower() == ".json" else _parse_yaml(text, source)
    if data is None:
        raise ConfigError("file is empty; expected a mapping", source=source)
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping at the top level, got {_kind(data)}", source=source)
    return data


class _DuplicateKeyError(ValueError):
    """A JSON object names one key twice (the second would silently win)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _parse_json(text: str, source: str) -> Any:
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys) if text.strip() else None
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid JSON: {exc.msg} (column {exc.colno})", source=source, field=f"line {exc.lineno}"
        ) from None
    except _DuplicateKeyError as exc:
        raise ConfigError(f"invalid JSON: the key {exc.args[0]!r} appears twice", source=source) from None
    except RecursionError:
        raise ConfigError(_too_deep(), source=source) from None
    _check_depth(data, source)
    return data


def _too_deep() -> str:
    return f"nested deeper than {MAX_DEPTH} levels"


def _check_depth(data: Any, source: str) -> None:
    """Refuse documents nested deeper than :data:`MAX_DEPTH` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(_too_deep(), source=source)
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` without aliases (no billion-laughs bombs), duplicate keys or deep nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise yaml.MarkedYAMLError(problem="aliases (*name) are not allowed", problem_mark=mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.MarkedYAMLError(problem=_too_deep(), problem_mark=mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.MarkedYAMLError(
                    problem=f"the key {key!r} appears twice", problem_mark=key_node.start_mark
                )
            if isinstance(key, str | int | float | bool):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str, source: str) -> Any:
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    except RecursionError:
        raise ConfigError(_too_deep(), source=source) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot parse"
        if mark is None:
            raise ConfigError(f"invalid YAML: {problem}", source=source) from None
        message = f"invalid YAML: {problem} (column {mark.column + 1})"
        raise ConfigError(message, source=source, field=f"line {mark.line + 1}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {type(exc).__name__}", source=source) from None
    finally:
        loader.dispose()


def validate(
    model: type[ModelT], data: Any, *, source: str, prefix: str = "", template: Any = None
) -> ModelT:
    """Validate ``data`` against ``model``; the first problem becomes a one-line ConfigError.

    Args:
        model: the pydantic model (``extra="forbid"``) describing the document or entry.
        data: the parsed, expanded data.
        source: the file the data came from, for the message.
        prefix: the field path of ``data`` inside the file (``mcpServers.fs``), if not the top.
        template: ``data`` as written, before ``${VAR}`` expansion: a bad value that came from a
            variable is shown as the ``${VAR}`` reference, never as the variable's value.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        loc = [part for part in first["loc"] if isinstance(part, str | int)]
        field = format_loc([prefix, *loc] if prefix else loc) or None
        if template is not None:
            written = _lookup(template, loc)
            if isinstance(written, str) and "$" in written:
                first = {**first, "input": written}
        message = describe_error(first, model)
        if len(errors) > 1:
            more = len(errors) - 1
            message += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise ConfigError(message, source=source, field=field) from None


def _lookup(data: Any, loc: list[str | int]) -> Any:
    """The value at field path ``loc`` inside ``data``, or ``None`` when there is none."""
    for part in loc:
        found = (isinstance(data, dict) and part in data) or (
            isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        )
        if not found:
            return None
        data = data[part]
    return data


def describe_error(error: ErrorDetails, model: type[BaseModel] | None) -> str:
    """What one pydantic error means, as ``expected X, got Y`` (or the validator's own words)."""
    kind = error["type"]
    loc = error["loc"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _EXPECTED[kind]
    if kind == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1]) if model is not None else []
        return f"unknown field; expected one of: {', '.join(allowed)}" if allowed else "unknown field"
    if kind in _EXPECTED:
        expected = _EXPECTED[kind]
    elif kind == "literal_error":
        expected = f"expected {ctx.get('expected', 'one of the allowed values')}"
    elif kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        expected = f"expected a number {words} {_show(ctx.get(key))}"
    elif kind == "value_error":
        expected = str(ctx.get("error") or error["msg"].removeprefix("Value error, "))
    else:
        expected = error["msg"]
    secret = any(part in SECRET_FIELDS for part in loc)
    return f"{expected}, got {_kind(error['input']) if secret else _show(error['input'])}"


def _fields_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The field names of the model found by walking ``loc`` from ``model`` (empty if none)."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field = current.model_fields.get(part)
            if field is None:
                return []
            current = field.annotation
        elif get_origin(current) in (list, dict):
            current = get_args(current)[-1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """``X | None`` -> ``X``; anything else unchanged."""
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _kind(value: Any) -> str:
    """A value's type in config words: ``a string``, ``a list``, ``a mapping``, ``null``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _show(value: Any) -> str:
    """A short rendering of a bad input: strings quoted, containers by kind."""
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:60] + "...")
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None or isinstance(value, list | dict):
        return _kind(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
