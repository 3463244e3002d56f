"""Tool input schemas: what the model is shown, and checking the arguments it sends back."""

from __future__ import annotations

from typing import Any

__all__ = ["ArgumentValidator", "model_parameters"]

_DROP_KEYS = frozenset({"$schema", "$id"})


def model_parameters(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as sent to the model: an object schema without keys providers reject.

    ``$schema`` (every npm server sends draft-07's) is dropped, and an object schema gets
    ``properties`` (OpenAI's strict path rejects an object without them).
    """
    params = {k: v for k, v in schema.items() if k not in _DROP_KEYS}
    if params.get("type") is None:
        params["type"] = "object"
    if params.get("type") == "object" and "properties" not in params:
        params["properties"] = {}
    return params


class ArgumentValidator:
    """Validates arguments against a tool's declared input schema (JSON Schema).

    A schema the validator cannot understand validates nothing: the server has the last word.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        self._validator: Any = None
        try:
            from jsonschema import validators
            from jsonschema.exceptions import SchemaError

            cls = validators.validator_for(schema)
            cls.check_schema(schema)
            self._validator = cls(schema)
        except (SchemaError, ImportError, TypeError, ValueError):
            self._validator = None

    def problem(self, arguments: dict[str, Any]) -> str | None:
        """A one-line description of what is wrong with ``arguments``, or None when they fit."""
        if self._validator is None:
            return None
        from jsonschema.exceptions import best_match

        error = best_match(self._validator.iter_errors(arguments))
        if error is None:
            return None
        path = "/".join(str(p) for p in error.absolute_path)
        where = f" at '{path}'" if path else ""
        return f"{error.message}{where}"
