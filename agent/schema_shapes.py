"""Tool input schemas in the dialect a model family accepts: one shaper per *schema profile*.

The profile is a capability fact (``tool_schema_profile``, see :mod:`agent.models.capabilities`):
vendor rules pick it and ``models.yaml`` can override it, so no adapter asks which model it talks
to. Shapers are pure and total: any JSON value gives an object schema, never an exception.

``full``
    JSON Schema as the server declared it, normalised for the wire only: ``$schema``/``$id``
    dropped, the root an object with ``properties``. Nothing else changes.
``gemini``
    Google's function-declaration ``Schema``, a subset of OpenAPI 3.0 that rejects the whole
    request on the first keyword it does not know. ``$ref`` is inlined (a cycle, or nesting past
    :data:`MAX_DEPTH`, or more than :data:`MAX_NODES` nodes, is cut to a typed node whose
    description says so); ``allOf`` is merged; ``anyOf``/``oneOf`` and type lists lose their
    ``null`` member to ``nullable: true`` and collapse when one branch is left; ``const`` becomes
    a one-value ``enum``; ``enum`` stays only on strings; a keyword kept for one type is dropped
    from others; ``required`` names only declared properties; other keywords are dropped, and
    the constraints among them that the model should still follow (``format``, ``default``,
    exclusive bounds, ...) are written into the description.

The arguments a model sends back are still validated against the server's original schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal
from urllib.parse import unquote

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "SCHEMA_PROFILES",
    "SHAPERS",
    "SchemaProfile",
    "faithful",
    "gemini",
    "shape",
    "strictest",
]

SchemaProfile = Literal["full", "gemini"]
SCHEMA_PROFILES: tuple[SchemaProfile, ...] = ("full", "gemini")
"""Every profile, least restrictive first: a schema shaped for a later one suits the earlier ones."""

MAX_DEPTH = 24
"""Nesting levels shaped by a restrictive profile; deeper nodes are cut."""
MAX_NODES = 2000
"""Schema nodes shaped per tool by a restrictive profile (inlining ``$ref`` can multiply them)."""

Schema = dict[str, Any]
_EMPTY_OBJECT: Schema = {"type": "object", "properties": {}}
_DROP_KEYS = frozenset({"$schema", "$id"})


def faithful(schema: object) -> Schema:
    """The ``full`` profile: the schema as declared, with only what the wire needs changed.

    ``$schema`` (every npm server sends draft-07's) and ``$id`` are dropped; the root is an
    object (tool arguments are one) with ``properties`` (OpenAI's strict path rejects an object
    without them).
    """
    if not isinstance(schema, dict):
        return dict(_EMPTY_OBJECT)
    params = {k: v for k, v in schema.items() if k not in _DROP_KEYS}
    params["type"] = "object"
    if not isinstance(params.get("properties"), dict):
        params["properties"] = {}
    return params


# -- gemini --------------------------------------------------------------------------------------


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return value == value and value not in (float("inf"), float("-inf"))


_GEMINI_TYPES = ("object", "array", "string", "integer", "number", "boolean")
_GEMINI_FORMATS: Mapping[str, frozenset[str]] = {
    "string": frozenset({"date-time"}),
    "integer": frozenset({"int32", "int64"}),
    "number": frozenset({"float", "double"}),
}
"""Formats Gemini takes per type ("only 'enum' and 'date-time' are supported for STRING type";
``enum`` is implied by an enum and would need one, so it is not sent)."""
_KEPT: Mapping[str, Mapping[str, Callable[[object], bool]]] = {
    "string": {"minLength": _count, "maxLength": _count, "pattern": lambda v: isinstance(v, str)},
    "integer": {"minimum": _number, "maximum": _number},
    "number": {"minimum": _number, "maximum": _number},
    "array": {"minItems": _count, "maxItems": _count},
}
"""Constraint keywords Gemini takes, by the type they belong to, with the values it accepts."""
_HINTED = (
    "default",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "contentEncoding",
    "contentMediaType",
)
"""Dropped keywords worth telling the model about: they go into the description."""
_UNION_KEYS = ("anyOf", "oneOf")
_HINT_CHARS = 100


def gemini(schema: object) -> Schema:
    """The ``gemini`` profile: the schema in Gemini's OpenAPI 3.0 subset (see the module doc)."""
    if not isinstance(schema, dict):
        return dict(_EMPTY_OBJECT)
    return _GeminiShaper(schema).root()


class _GeminiShaper:
    """One schema's walk: the document ``$ref`` resolves in, and the node budget left."""

    def __init__(self, document: Schema) -> None:
        self.document = document
        self.nodes = 0

    def root(self) -> Schema:
        shaped = self.node(self.document, 0, frozenset({"#"}))
        shaped.pop("nullable", None)  # the arguments are an object, never null
        if shaped.get("type") != "object" and _all_objects(shaped.get("anyOf")):
            shaped = _merge_objects(shaped)
        if shaped.get("type") != "object":
            described = {"description": shaped["description"]} if "description" in shaped else {}
            return {**_EMPTY_OBJECT, **described}
        shaped.setdefault("properties", {})  # the root keeps the wire's usual shape
        return shaped

    def node(self, schema: object, depth: int, seen: frozenset[str]) -> Schema:
        """One schema node in Gemini's dialect (``seen``: the ``$ref``s expanded on this path)."""
        if not isinstance(schema, dict):
            return _any()
        self.nodes += 1
        schema, seen, cycle = self.deref(schema, seen)
        if cycle is not None:
            return self.recursive(cycle, schema)
        if depth >= MAX_DEPTH or self.nodes > MAX_NODES:
            return _cut(schema, "nested too deeply to show")
        schema, seen = self.merge_all_of(schema, depth, seen)
        if any(isinstance(schema.get(key), list) for key in _UNION_KEYS):
            return self.union(schema, depth, seen)
        types, nullable = _types(schema)
        if len(types) > 1:
            base = {k: v for k, v in schema.items() if k not in ("type", "nullable", "description", "title")}
            branches: list[Schema] = [{**base, "type": t} for t in types]
            null: list[Schema] = [{"type": "null"}] if nullable else []
            return self.union({**_described(schema), "anyOf": [*branches, *null]}, depth, seen)
        kind = types[0] if types else _infer(schema)
        if kind is None:
            return _any(schema, _enum_hints(_enum_values(schema) or []))
        return self.typed(schema, kind, nullable, depth, seen)

    def typed(self, schema: Schema, kind: str, nullable: bool, depth: int, seen: frozenset[str]) -> Schema:
        """A node of one known type: its keywords, nested nodes and hints."""
        out: Schema = {"type": kind}
        hints: list[str] = []
        values = _enum_values(schema)
        if values is not None:
            nullable = nullable or None in values
            values = [v for v in values if v is not None]
            strings = _unique(v for v in values if isinstance(v, str))
            if kind == "string" and strings:
                out["enum"] = strings
            else:
                hints += _enum_hints(values)
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt != "enum":
            if fmt in _GEMINI_FORMATS.get(kind, ()):
                out["format"] = fmt
            else:
                hints.append(f"format: {fmt[:_HINT_CHARS]}")
        for key, valid in _KEPT.get(kind, {}).items():
            if key in schema and valid(schema[key]):
                out[key] = schema[key]
        if kind == "object":
            hints += self.object_members(schema, out, depth, seen)
        elif kind == "array":
            out["items"] = self.items(schema, depth, seen)
        hints += [f"{key}: {_brief(schema[key])}" for key in _HINTED if schema.get(key) is not None]
        if nullable:
            out["nullable"] = True
        description = _description(schema, hints)
        if description:
            out["description"] = description
        return out

    def object_members(self, schema: Schema, out: Schema, depth: int, seen: frozenset[str]) -> list[str]:
        """Fill ``properties`` and ``required`` of an object node; returns hints for its description."""
        props = schema.get("properties")
        shaped = {
            name: self.node(sub, depth + 1, seen)
            for name, sub in (props.items() if isinstance(props, dict) else ())
            if isinstance(name, str)
        }
        if shaped:  # Gemini: "properties: should be non-empty for OBJECT type"
            out["properties"] = shaped
        required = schema.get("required")
        named = _unique(r for r in required if r in shaped) if isinstance(required, list) else []
        if named:
            out["required"] = named
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return [f"{'other keys' if shaped else 'any keys'} allowed, each value: {_brief(extra)}"]
        return []

    def items(self, schema: Schema, depth: int, seen: frozenset[str]) -> Schema:
        """The ``items`` node of an array (Gemini requires one); tuples become a union of positions."""
        items, prefix = schema.get("items"), schema.get("prefixItems")
        positions = items if isinstance(items, list) else prefix if isinstance(prefix, list) else None
        if positions:
            rest = [items] if isinstance(items, dict) else []
            return self.union({"anyOf": [*positions, *rest]}, depth + 1, seen)
        return self.node(items, depth + 1, seen) if isinstance(items, dict) else _any()

    def recursive(self, ref: str, siblings: Schema) -> Schema:
        """The node where a ``$ref`` cycle is cut."""
        return _cut(self.lookup(ref), f"recursive: the same shape as {_ref_name(ref)}", siblings)

    def union(self, schema: Schema, depth: int, seen: frozenset[str]) -> Schema:
        """``anyOf``/``oneOf``: null branches become ``nullable``, one branch left is the node."""
        key = next(k for k in _UNION_KEYS if isinstance(schema.get(k), list))
        base = {k: v for k, v in schema.items() if k not in _UNION_KEYS}
        shared = {k: v for k, v in base.items() if k not in ("description", "title", "nullable")}
        branches = [self.deref(b, seen) if isinstance(b, dict) else ({}, seen, None) for b in schema[key]]
        nullable = _types(base)[1] or any(_is_null(b) for b, _, _ in branches)
        rest = [branch for branch in branches if not _is_null(branch[0])]
        flag: Schema = {"nullable": True} if nullable else {}
        if not rest:
            return self.typed(base, "string", True, depth + 1, seen)
        if len(rest) == 1:
            one, one_seen, cycle = rest[0]
            if cycle is not None:
                return {**self.recursive(cycle, {**one, **_described(base)}), **flag}
            return self.node({**shared, **one, **_described(base), **flag}, depth + 1, one_seen)
        values = [
            _enum_values(b) for b, _, cycle in rest if cycle is None and _types(b)[0] in ([], ["string"])
        ]
        if len(values) == len(rest) and all(v and all(isinstance(s, str) for s in v) for v in values):
            merged = {**base, "enum": [s for v in values for s in v or ()]}
            return self.typed(merged, "string", nullable, depth + 1, seen)
        shaped: list[Schema] = []
        for branch, branch_seen, cycle in rest:
            if cycle is not None:
                one = self.recursive(cycle, branch)
            else:
                one = self.node({**shared, **branch}, depth + 1, branch_seen)
            if one not in shaped:
                shaped.append(one)
        out = {**shaped[0], **flag} if len(shaped) == 1 else {"anyOf": shaped, **flag}
        description = _description(base, [])
        if description:
            out["description"] = description
        return out

    def merge_all_of(self, schema: Schema, depth: int, seen: frozenset[str]) -> tuple[Schema, frozenset[str]]:
        """``allOf`` folded into one node: properties and required united, other keys first wins."""
        parts = schema.get("allOf")
        if not isinstance(parts, list):
            return schema, seen
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in parts:
            if not isinstance(part, dict) or depth >= MAX_DEPTH:
                continue
            part, seen, cycle = self.deref(part, seen)
            if cycle is not None:
                continue
            part, seen = self.merge_all_of(part, depth + 1, seen)
            for key, value in part.items():
                if key == "properties" and isinstance(value, dict):
                    mine = merged.get("properties")
                    merged[key] = {**value, **mine} if isinstance(mine, dict) else value
                elif key == "required" and isinstance(value, list):
                    mine = merged.get("required")
                    merged[key] = [*mine, *value] if isinstance(mine, list) else value
                else:
                    merged.setdefault(key, value)
        return merged, seen

    def deref(self, schema: Schema, seen: frozenset[str]) -> tuple[Schema, frozenset[str], str | None]:
        """``schema`` with its ``$ref`` chain inlined (siblings win); a cycle returns its ``$ref``."""
        while isinstance(ref := schema.get("$ref"), str):
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            if ref in seen:
                return siblings, seen, ref
            target = self.lookup(ref)
            seen = seen | {ref}
            schema = {**target, **siblings} if isinstance(target, dict) else siblings
        return schema, seen, None

    def lookup(self, ref: str) -> object:
        """What a local ``$ref`` (``#``, ``#/$defs/Name``, any JSON pointer) points at, or None."""
        if not ref.startswith("#"):
            return None
        pointer = unquote(ref[1:])
        if not pointer:
            return self.document
        if not pointer.startswith("/"):
            return None
        node: object = self.document
        for raw in pointer[1:].split("/"):
            part = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        return node


def _types(schema: object) -> tuple[list[str], bool]:
    """The Gemini types a node declares, and whether it also allows null."""
    if not isinstance(schema, dict):
        return [], False
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else declared if isinstance(declared, list) else []
    nullable = "null" in names or schema.get("nullable") is True
    return [t for t in _GEMINI_TYPES if t in names], nullable


def _infer(schema: Schema) -> str | None:
    """The type of a node that declares none, from its keywords or its values."""
    if any(k in schema for k in ("properties", "required", "additionalProperties")):
        return "object"
    if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems")):
        return "array"
    values = [v for v in _enum_values(schema) or () if v is not None]
    if values:
        if all(isinstance(v, str) for v in values):
            return "string"
        if all(isinstance(v, bool) for v in values):
            return "boolean"
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return "integer"
        if all(_number(v) for v in values):
            return "number"
        return None
    if any(k in schema for k in ("minLength", "maxLength", "pattern", "format")):
        return "string"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return "number"
    return None


def _enum_values(schema: Schema) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    values = schema.get("enum")
    return list(values) if isinstance(values, list) else None


def _is_null(schema: object) -> bool:
    if not isinstance(schema, dict):
        return False
    declared = schema.get("type")
    if declared == "null" or declared == ["null"]:
        return True
    return "const" in schema and schema["const"] is None


def _any(schema: Schema | None = None, hints: Iterable[str] = ()) -> Schema:
    """A node that takes any value: Gemini needs a type, and a string carries anything."""
    return {"type": "string", "description": _description(schema or {}, ["any JSON value", *hints])}


def _cut(target: object, note: str, siblings: Schema | None = None) -> Schema:
    """A node not expanded (a cycle or the size bound): its type, and a description saying why."""
    schema = {**(target if isinstance(target, dict) else {}), **(siblings or {})}
    types, _ = _types(schema)
    kind = types[0] if types else _infer(schema) or "object"
    out: Schema = {"type": kind}
    if kind == "array":
        out["items"] = _any()
    out["description"] = _description(schema, [note])
    return out


def _all_objects(branches: object) -> bool:
    return isinstance(branches, list) and bool(branches) and all(b.get("type") == "object" for b in branches)


def _merge_objects(union: Schema) -> Schema:
    """A root that is one of several objects: every property, required only where all require it."""
    branches: list[Schema] = union["anyOf"]
    props: Schema = {}
    for branch in branches:
        for name, sub in branch.get("properties", {}).items():
            props.setdefault(name, sub)
    required = [
        r for r in branches[0].get("required", []) if all(r in b.get("required", []) for b in branches)
    ]
    out: Schema = {"type": "object", "properties": props}
    if required:
        out["required"] = required
    out["description"] = _description(union, ["one of several argument shapes; send one"])
    return out


def _described(schema: Schema) -> Schema:
    return {k: schema[k] for k in ("description", "title") if k in schema}


def _description(schema: Schema, hints: list[str]) -> str:
    """The node's description (its title if it has none), with ``hints`` in parentheses."""
    text = schema.get("description")
    if not isinstance(text, str) or not text.strip():
        title = schema.get("title")
        text = title if isinstance(title, str) else ""
    if not hints:
        return text
    joined = "; ".join(hints)
    return f"{text} ({joined})" if text else joined


def _enum_hints(values: list[Any]) -> list[str]:
    """The allowed values of an enum Gemini cannot take, as a description hint."""
    values = [v for v in values if v is not None]
    if len(values) == 1:
        return [f"must be: {_brief(values[0])}"]
    shown = ", ".join(_brief(v) for v in values[:20]) + (", ..." if len(values) > 20 else "")
    return [f"one of: {shown}"] if values else []


def _brief(value: object) -> str:
    """``value`` as short JSON for a description."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (ValueError, RecursionError):
        text = "..."
    return text if len(text) <= _HINT_CHARS else text[: _HINT_CHARS - 3] + "..."


def _ref_name(ref: str) -> str:
    name = unquote(ref.rsplit("/", 1)[-1]) if ref.startswith("#/") else ""
    return name[:_HINT_CHARS] or "the whole schema"


def _unique(values: Iterable[object]) -> list[str]:
    """The strings among ``values``, each once, in first-seen order."""
    return list(dict.fromkeys(value for value in values if isinstance(value, str)))


# -- the registry ---------------------------------------------------------------------------------

SHAPERS: Mapping[SchemaProfile, Callable[[object], Schema]] = {"full": faithful, "gemini": gemini}
"""The shaper of each profile."""


def shape(schema: object, profile: SchemaProfile = "full") -> Schema:
    """``schema`` as a model with ``profile`` is to be shown it (an unknown profile: ``full``)."""
    return SHAPERS.get(profile, faithful)(schema)


def strictest(profiles: Iterable[SchemaProfile | None]) -> SchemaProfile:
    """The profile whose schemas every one of ``profiles`` accepts (``None`` counts as ``full``)."""
    rank = {name: position for position, name in enumerate(SCHEMA_PROFILES)}
    return max((p or "full" for p in profiles), key=lambda p: rank.get(p, 0), default="full")
