"""Elicitation forms: the fields of a server's requested schema, values typed in, defaults filled.

MCP form elicitation sends a flat JSON schema of primitive fields: strings (with ``format``
email, uri, date, date-time), numbers, integers, booleans, single-select enums (``enum``, with
the legacy ``enumNames``, or titled ``oneOf``/``anyOf`` of ``const``) and multi-select arrays of
those. This module reads such a schema into :class:`~agent.events.ElicitationField` objects,
turns what a person types into a field's value, and completes an answer with the schema's
defaults (the client is expected to fill them in). Pure functions: no SDK, no terminal.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from agent.events import ElicitationAnswer, ElicitationField, ElicitationOption

__all__ = ["complete_answer", "form_fields", "parse_value", "show_value"]

_YES = ("y", "yes", "true", "1")
_NO = ("n", "no", "false", "0")
_MAX_FIELDS = 100


def form_fields(schema: Mapping[str, Any] | None) -> list[ElicitationField]:
    """The fields of a requested schema, in its order (properties that are not objects are skipped)."""
    if not isinstance(schema, Mapping):
        return []
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return []
    required = schema.get("required")
    needed = {str(n) for n in required} if isinstance(required, list) else set()
    fields = []
    for name, prop in list(properties.items())[:_MAX_FIELDS]:
        if isinstance(prop, Mapping):
            fields.append(_field(str(name), prop, str(name) in needed))
    return fields


def _field(name: str, prop: Mapping[str, Any], required: bool) -> ElicitationField:
    kind: Any
    options: list[ElicitationOption] = []
    if prop.get("type") == "array":
        kind = "choices"
        items = prop.get("items")
        options = _options(items if isinstance(items, Mapping) else {})
    elif options := _options(prop):
        kind = "choice"
    elif prop.get("type") in ("number", "integer", "boolean"):
        kind = prop["type"]
    else:
        kind = "string"
    low = prop.get("minimum", prop.get("minItems"))
    high = prop.get("maximum", prop.get("maxItems"))
    return ElicitationField(
        name=name,
        title=str(prop.get("title") or name),
        description=str(prop.get("description") or ""),
        kind=kind,
        required=required,
        default=prop.get("default"),
        options=options,
        format=prop["format"] if isinstance(prop.get("format"), str) else None,
        minimum=low if _number(low) else None,
        maximum=high if _number(high) else None,
        min_length=prop["minLength"] if isinstance(prop.get("minLength"), int) else None,
        max_length=prop["maxLength"] if isinstance(prop.get("maxLength"), int) else None,
    )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _options(prop: Mapping[str, Any]) -> list[ElicitationOption]:
    """The allowed values of an enum: ``enum`` (titled by ``enumNames``) or ``oneOf``/``anyOf`` consts."""
    enum = prop.get("enum")
    if isinstance(enum, list):
        names = prop.get("enumNames")
        titles = names if isinstance(names, list) and len(names) == len(enum) else enum
        return [ElicitationOption(value=str(v), title=str(t)) for v, t in zip(enum, titles, strict=True)]
    for key in ("oneOf", "anyOf"):
        choices = prop.get(key)
        if isinstance(choices, list):
            return [
                ElicitationOption(value=str(c["const"]), title=str(c.get("title") or c["const"]))
                for c in choices
                if isinstance(c, Mapping) and "const" in c
            ]
    return []


def parse_value(field: ElicitationField, text: str) -> Any:
    """The value of ``field`` that ``text`` (as a person typed it) stands for.

    Choices are given by value, title or number (1 is the first); several, separated by commas.

    Raises:
        ValueError: the text is no valid value for the field (the message says what is expected).
    """
    text = text.strip()
    if field.kind == "boolean":
        if text.lower() in _YES:
            return True
        if text.lower() in _NO:
            return False
        raise ValueError("expected yes or no")
    if field.kind == "choice":
        return _choose(field, text)
    if field.kind == "choices":
        picked = list(dict.fromkeys(_choose(field, part) for part in text.split(",") if part.strip()))
        _check_range(field, len(picked), "choices")
        return picked
    if field.kind == "integer":
        try:
            number: float = int(text)
        except ValueError:
            raise ValueError("expected a whole number") from None
        _check_range(field, number, "a number")
        return number
    if field.kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise ValueError("expected a number") from None
        _check_range(field, number, "a number")
        return number
    _check_string(field, text)
    return text


def _choose(field: ElicitationField, text: str) -> str:
    text = text.strip()
    for option in field.options:
        if text == option.value or text.lower() == option.title.lower():
            return option.value
    if text.isdigit() and 1 <= int(text) <= len(field.options):
        return field.options[int(text) - 1].value
    raise ValueError("expected one of: " + ", ".join(o.title for o in field.options))


def _check_range(field: ElicitationField, value: float, what: str) -> None:
    if field.minimum is not None and value < field.minimum:
        raise ValueError(f"expected {what} of at least {field.minimum:g}")
    if field.maximum is not None and value > field.maximum:
        raise ValueError(f"expected {what} of at most {field.maximum:g}")


def _check_string(field: ElicitationField, text: str) -> None:
    if field.min_length is not None and len(text) < field.min_length:
        raise ValueError(f"expected at least {field.min_length} characters")
    if field.max_length is not None and len(text) > field.max_length:
        raise ValueError(f"expected at most {field.max_length} characters")
    try:
        if field.format == "email" and ("@" not in text or " " in text):
            raise ValueError
        if field.format == "uri" and not (urlsplit(text).scheme and urlsplit(text).netloc):
            raise ValueError
        if field.format == "date":
            datetime.date.fromisoformat(text)
        if field.format == "date-time":
            datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected {_FORMATS.get(field.format or '', 'text')}") from None


_FORMATS = {
    "email": "an email address",
    "uri": "a URL such as https://example.com/",
    "date": "a date such as 2026-07-28",
    "date-time": "a date and time such as 2026-07-28T09:30:00",
}


def show_value(field: ElicitationField, value: Any) -> str:
    """A field's value (a default, say) as a person would type it."""
    if field.kind == "boolean":
        return "yes" if value else "no"
    if field.kind in ("choice", "choices"):
        titles = {o.value: o.title for o in field.options}
        values = value if isinstance(value, list) else [value]
        return ", ".join(titles.get(str(v), str(v)) for v in values)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def complete_answer(fields: list[ElicitationField], answer: ElicitationAnswer) -> ElicitationAnswer:
    """``answer`` with the schema's defaults for the fields it leaves out (accepted forms only).

    Only the form's fields are sent back: names the schema does not have are dropped.
    """
    if answer.action != "accept" or not fields:
        return answer
    given = answer.content or {}
    content = {f.name: given[f.name] for f in fields if f.name in given}
    for f in fields:
        if f.name not in content and f.default is not None:
            content[f.name] = f.default
    return ElicitationAnswer(action="accept", content=content)
