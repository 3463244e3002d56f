"""Tool input schemas: what the model is shown, and checking the arguments it sends back."""

from __future__ import annotations

from typing import Any

from agent.schema_shapes import SchemaProfile, shape

__all__ = ["ArgumentValidator", "model_parameters"]


def model_parameters(schema: object, profile: SchemaProfile = "full") -> dict[str, Any]:
    """The schema as sent to a model whose dialect is ``profile`` (see :mod:`agent.schema_shapes`).

    ``full`` passes the schema through, normalised for the wire: ``$schema`` (every npm server
    sends draft-07's) and ``$id`` are dropped, and the root is an object with ``properties``
    (OpenAI's strict path rejects an object without them). Never raises: any JSON value gives
    an object schema. Arguments are validated against the original, not against this.
    """
    return shape(schema, profile)


class ArgumentValidator:
    """Validates arguments against a tool's declared input schema (JSON Schema).

    A schema the validator cannot understand validates nothing: the server has the last word.
    The schema itself is not checked up front (that costs more than validating many calls);
    a broken one shows up, and is ignored, when arguments are validated.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        from jsonschema import validators

        self._validator: Any = None
        try:
            self._validator = validators.validator_for(schema)(schema)
        except Exception:  # any schema jsonschema cannot take means: no client-side check
            self._validator = None

    def problem(self, arguments: dict[str, Any]) -> str | None:
        """A one-line description of what is wrong with ``arguments``, or None when they fit."""
        if self._validator is None:
            return None
        from jsonschema.exceptions import best_match

        try:
            error = best_match(self._validator.iter_errors(arguments))
        except RecursionError:  # a self-referencing schema over deep arguments: the arguments' fault
            return "the arguments are nested too deeply to check"
        except Exception:  # a broken schema (bad $ref, wrong keyword types): leave it to the server
            self._validator = None
            return None
        if error is None:
            return None
        path = "/".join(str(p) for p in error.absolute_path)
        where = f" at '{path}'" if path else ""
        return f"{error.message}{where}"
