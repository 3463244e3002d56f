"""OpenRouter's own request checks: a chat body against the OpenAPI ``ChatRequest`` schema, and more.

:func:`check_shape` is pure and returns one line per problem, ``path: what is wrong``, like
:func:`tests.loopback.history.check_request`. The schema is the ``ChatRequest`` subset of
OpenRouter's OpenAPI document (``openapi_chat.json``, made by ``make_openapi_subset.py``),
validated as JSON Schema Draft 2020-12. :data:`DOCUMENTED_FIELDS` adds the fields OpenRouter's
guides document but its OpenAPI document lacks; :func:`_documented_rules` adds the rules the
guides state but the schema cannot say (counts across the body, fields that exclude each other).
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

__all__ = [
    "DOCUMENTED_FIELDS",
    "MAX_CACHE_BREAKPOINTS",
    "MAX_ROUTE_MODELS",
    "MODELS_LIMIT_MESSAGE",
    "check_shape",
    "rejection_message",
]

SCHEMA_FILE = Path(__file__).with_name("openapi_chat.json")

MAX_ROUTE_MODELS = 3
MODELS_LIMIT_MESSAGE = "'models' array must have 3 items or fewer."
"""OpenRouter's words for a longer ``models`` array (reference §2; not in the docs or the OAS)."""

MAX_CACHE_BREAKPOINTS = 4
"""Explicit ``cache_control`` breakpoints per request (guides/best-practices/prompt-caching.mdx)."""

MAX_METADATA_PAIRS, MAX_METADATA_KEY, MAX_METADATA_VALUE = 16, 64, 512
"""``metadata`` limits, stated in the OAS description only."""

DOCUMENTED_FIELDS: Mapping[str, Any] = {
    # cookbook/administration/usage-accounting.mdx: deprecated, "no effect", still accepted (the
    # runtime sends it).
    "usage": {"type": "object", "properties": {"include": {"type": "boolean"}}},
    # guides/features/presets.mdx "Preset Field": {"model": ..., "preset": "slug"}.
    "preset": {"type": "string"},
    # the old form of context compression (reference §2), e.g. ["middle-out"].
    "transforms": {"type": "array", "items": {"type": "string"}},
}
"""Top-level request fields OpenRouter documents but ``ChatRequest`` lacks, with their shapes."""

REASONING_FIELDS: Mapping[str, Any] = {
    # guides/best-practices/reasoning-tokens.mdx; the OAS's inline ``reasoning`` has only effort
    # and summary (its ReasoningConfig, used by the Responses API, has max_tokens and enabled).
    "max_tokens": {"type": ["integer", "null"]},
    "exclude": {"type": ["boolean", "null"]},
    "enabled": {"type": ["boolean", "null"]},
}

_DISCRIMINATING = frozenset({"enum", "const"})


def check_shape(body: Any) -> list[str]:
    """Every problem OpenRouter would reject ``body`` for with a 400; empty when it is acceptable."""
    errors = sorted(_validator().iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    problems = [line for error in errors for line in _explain(error)]
    if isinstance(body, dict):
        problems += _documented_rules(body)
    return problems


def rejection_message(problems: Sequence[str]) -> str:
    """The ``error.message`` OpenRouter's 400 carries for these problems."""
    if any(p.endswith(MODELS_LIMIT_MESSAGE) for p in problems):
        return MODELS_LIMIT_MESSAGE  # OpenRouter's own wording, checked before anything else
    return "Invalid request: " + "; ".join(problems)


@functools.cache
def _validator() -> Draft202012Validator:
    document = json.loads(SCHEMA_FILE.read_text())
    schemas = document["components"]["schemas"]
    request = schemas["ChatRequest"] = copy.deepcopy(schemas["ChatRequest"])
    request["properties"].update(copy.deepcopy(dict(DOCUMENTED_FIELDS)))
    request["properties"]["reasoning"]["properties"].update(copy.deepcopy(dict(REASONING_FIELDS)))
    return Draft202012Validator({**document, "$ref": "#/components/schemas/ChatRequest"})


# -- explaining schema errors ------------------------------------------------------------------


def _path(parts: Iterable[Any]) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).removeprefix(".")
    return text or "body"


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _text(error: ValidationError) -> str:
    """One short phrase for a leaf error (jsonschema's own messages quote whole instances)."""
    kind, expected = error.validator, _allowed(error)
    if kind == "type":
        return f"expected {' or '.join(map(str, expected))}, got {_short(error.instance)}"
    if kind == "maxLength":
        return f"longer than {expected[0]} characters"
    if kind == "maxItems":
        return f"more than {expected[0]} items"
    if kind == "minItems":
        return f"fewer than {expected[0]} items"
    if kind in ("enum", "const"):
        return f"{_short(error.instance)} is not one of {[a for a in expected if a is not None]}"
    if kind in ("required", "additionalProperties"):
        return error.message
    return f"{_short(error.instance)}: {error.message[-120:]}"


def _allowed(error: ValidationError) -> list[Any]:
    """The keyword's value as a list (``type: [a, b]``, ``enum: [...]``, ``const: x``, ``maxLength: n``)."""
    value: Any = error.validator_value
    return list(value) if isinstance(value, list) else [value]


def _mismatch(error: ValidationError) -> bool:
    """True when a union branch fails on what tells the branches apart (``type``, ``role``, ...)."""
    depth = len(error.relative_path)
    return (error.validator == "type" and depth == 0) or (error.validator in _DISCRIMINATING and depth <= 1)


def _explain(error: ValidationError) -> list[str]:
    """Lines for one error; a failed ``oneOf``/``anyOf`` is explained by the branch the value meant."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [f"{_path(error.absolute_path)}: {_text(error)}"]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    meant = [errs for errs in branches.values() if not any(_mismatch(e) for e in errs)]
    if meant:
        return [line for sub in min(meant, key=len) for line in _explain(sub)]
    # No branch fits: name the discriminating field, or the values and types the value may take.
    where = _path(error.absolute_path)
    fields: dict[str, list[Any]] = {}
    values: list[Any] = []
    kinds: set[str] = set()
    for sub in error.context:
        depth = len(sub.relative_path)
        if sub.validator in _DISCRIMINATING and depth <= 1:
            allowed = _allowed(sub)
            target = values if depth == 0 else fields.setdefault(str(sub.relative_path[0]), [])
            target.extend(a for a in allowed if a is not None)
        elif sub.validator == "type" and depth == 0:
            kinds.update(map(str, _allowed(sub)))
    if len(fields) == 1 and isinstance(error.instance, dict):
        ((name, allowed),) = fields.items()
        return [f"{where}.{name}: {_short(error.instance.get(name))} is not one of {_unique(allowed)}"]
    if values:
        other = f", nor {' or '.join(sorted(kinds - {'string'}))}" if kinds - {"string"} else ""
        return [f"{where}: {_short(error.instance)} is not one of {_unique(values)}{other}"]
    if kinds:
        return [f"{where}: expected {' or '.join(sorted(kinds))}, got {_short(error.instance)}"]
    return [f"{where}: {_short(error.instance)} matches none of the allowed shapes"]


def _unique(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


# -- rules the schema does not express -----------------------------------------------------------


def _documented_rules(body: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    models = body.get("models")
    if isinstance(models, list) and len(models) > MAX_ROUTE_MODELS:
        problems.append(f"models: {MODELS_LIMIT_MESSAGE}")
    breakpoints = _cache_breakpoints(body)
    if len(breakpoints) > MAX_CACHE_BREAKPOINTS:
        problems.append(
            f"cache_control: {len(breakpoints)} cache breakpoints ({', '.join(breakpoints)}); "
            f"at most {MAX_CACHE_BREAKPOINTS} are allowed"
        )
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict):
        if reasoning.get("effort") is not None and reasoning.get("max_tokens") is not None:
            problems.append("reasoning: use effort or max_tokens, not both")
        effort, shorthand = reasoning.get("effort"), body.get("reasoning_effort")
        if effort is not None and shorthand is not None and effort != shorthand:
            problems.append(
                f"reasoning_effort: {shorthand!r} differs from reasoning.effort {effort!r}; send one of them"
            )
    problems += _response_format_rules(body.get("response_format"))
    problems += _metadata_rules(body.get("metadata"))
    return problems


def _cache_breakpoints(body: Mapping[str, Any]) -> list[str]:
    """Where explicit breakpoints are: content parts of any message, and tools (not the top level)."""
    found: list[str] = []
    for index, message in enumerate(body.get("messages") or ()):
        content = message.get("content") if isinstance(message, dict) else None
        for number, part in enumerate(content if isinstance(content, list) else ()):
            if isinstance(part, dict) and part.get("cache_control") is not None:
                found.append(f"messages[{index}].content[{number}]")
    tools = body.get("tools")
    for index, tool in enumerate(tools if isinstance(tools, list) else ()):
        if isinstance(tool, dict) and tool.get("cache_control") is not None:
            found.append(f"tools[{index}]")
    return found


def _response_format_rules(response_format: Any) -> list[str]:
    if not isinstance(response_format, dict) or response_format.get("type") != "json_schema":
        return []
    config = response_format.get("json_schema")
    if not isinstance(config, dict):
        return []  # the schema already says json_schema is required
    # guides/features/structured-outputs.mdx: json_schema carries name, strict and schema.
    if not isinstance(config.get("schema"), dict):
        return ["response_format.json_schema.schema: a json_schema response format needs a 'schema' object"]
    return []


def _metadata_rules(metadata: Any) -> list[str]:
    if not isinstance(metadata, dict):
        return []
    problems = (
        [f"metadata: more than {MAX_METADATA_PAIRS} pairs"] if len(metadata) > MAX_METADATA_PAIRS else []
    )
    problems += [
        f"metadata: key {_short(k)} is longer than {MAX_METADATA_KEY}"
        for k in metadata
        if len(k) > MAX_METADATA_KEY
    ]
    problems += [
        f"metadata.{k}: longer than {MAX_METADATA_VALUE} characters"
        for k, v in metadata.items()
        if isinstance(v, str) and len(v) > MAX_METADATA_VALUE
    ]
    return problems
