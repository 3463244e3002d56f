"""What ``run_task`` hands back: the answer as text, the ``--json`` result as structured content.

The output schema is RunResult's own JSON schema with its ``$ref``s inlined, so hosts that do not
resolve references (or validate strictly) read it as it is; fields are only ever added to it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from agent.redaction import redact
from agent.result import RunResult
from agent.text import one_line

__all__ = ["result_text", "run_result_schema", "without_secrets"]

_LIMITS = {
    "max_turns": "the turn limit",
    "max_cost": "the cost limit",
    "max_tokens": "the token limit",
    "timeout": "the time limit",
}
_MAX_ERROR = 1_000


def run_result_schema() -> dict[str, Any]:
    """RunResult's JSON schema (as ``model_dump(mode="json")`` writes it), ``$ref``-free."""
    schema = RunResult.model_json_schema(mode="serialization")
    definitions = schema.pop("$defs", {})

    def inline(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref.removeprefix("#/$defs/")
                if name in seen:  # RunResult has no recursive types; refuse rather than loop
                    raise ValueError(f"recursive schema at {name}")
                target = inline(copy.deepcopy(definitions[name]), (*seen, name))
                rest = {k: inline(v, seen) for k, v in node.items() if k != "$ref"}
                return {**target, **rest}
            return {k: inline(v, seen) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(item, seen) for item in node]
        return node

    inlined: dict[str, Any] = inline(schema, ())
    inlined["type"] = "object"
    return inlined


def result_text(result: RunResult) -> tuple[str, bool]:
    """The text content of a run's result, and whether it is an error (the run did not complete).

    A completed run's text is its answer. A failed run's is its one-line error; a run a limit
    stopped says which limit in one line (what was written so far is in the structured result).
    """
    if result.stop_reason == "completed":
        return result.output, False
    if result.stop_reason == "error":
        message = result.error.message if result.error is not None else "the run failed"
        kind = result.error.type if result.error is not None else "Error"
        return one_line(f"error: {kind}: {message}", _MAX_ERROR), True
    limit = _LIMITS.get(result.stop_reason, result.stop_reason)
    turns = f"{result.turns} turn{'' if result.turns == 1 else 's'}"
    return f"stopped: the run reached {limit} ({result.stop_reason}) after {turns}", True


def without_secrets(value: Any, secrets: Iterable[str | None]) -> Any:
    """``value`` (JSON) with every string redacted of ``secrets`` and key-shaped text."""
    known = [secret for secret in secrets if secret]
    if isinstance(value, str):
        return redact(value, known)
    if isinstance(value, dict):
        return {key: without_secrets(item, known) for key, item in value.items()}
    if isinstance(value, list):
        return [without_secrets(item, known) for item in value]
    return value
