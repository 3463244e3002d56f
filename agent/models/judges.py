"""Judges of the probe checks: pure functions from a run's result to a verdict and a one-line detail.

Arguments are checked against the same schemas the probe's tools declare, with the runtime's own
:class:`~agent.tool_schema.ArgumentValidator`, so "wrong types" means what the loop would reject.
"""

from __future__ import annotations

from typing import Any, Literal

from agent.errors import ProviderError
from agent.result import RunResult, ToolCallRecord
from agent.text import one_line
from agent.tool_schema import ArgumentValidator

__all__ = [
    "BOOK_SCHEMA",
    "CITY_SCHEMA",
    "Judgement",
    "Verdict",
    "judge_parallel",
    "judge_required",
    "judge_restraint",
    "judge_result",
    "judge_single",
    "judge_typed",
]

Verdict = Literal["pass", "fail", "error", "skip"]
Judgement = tuple[Verdict, str]

CITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
    "required": ["city"],
    "additionalProperties": False,
}
BOOK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "guests": {"type": "integer", "minimum": 1, "description": "Number of guests"},
        "time": {"type": "string", "enum": ["18:00", "19:00", "20:00", "21:00"]},
        "dishes": {"type": "array", "items": {"type": "string"}, "description": "Dishes to pre-order"},
        "contact": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "phone": {"type": "string"}},
            "required": ["name", "phone"],
            "additionalProperties": False,
        },
    },
    "required": ["guests", "time", "dishes", "contact"],
    "additionalProperties": False,
}
_TEXT_CALL = "wrote the call as <tool_call> text instead of a native tool call"
_REFUSED = "the endpoint takes no tools (404 no endpoints support tool use)"
_MAX_DETAIL = 100


def _call_text(call: ToolCallRecord) -> str:
    return f"{call.tool}({one_line(call.arguments, 60)})"


def _problem(call: ToolCallRecord, schema: dict[str, Any]) -> str | None:
    if not isinstance(call.arguments, dict):
        return f"not a JSON object: {one_line(call.arguments, 40)}"
    return ArgumentValidator(schema).problem(call.arguments)


def _failed_run(result: RunResult, *, native: bool) -> Judgement | None:
    """The verdict when the run itself did not get to a judgeable answer, else None."""
    if result.error is not None and result.error.type == "NoToolEndpointsError":
        return "fail", _REFUSED
    if result.stop_reason == "error":
        message = result.error.message if result.error else "the run failed"
        return "error", one_line(message, _MAX_DETAIL)
    if result.stop_reason == "timeout":
        return "error", "timed out"
    return None


def _no_call(result: RunResult, *, native: bool = True) -> Judgement:
    if native and "<tool_call>" in result.output:
        return "fail", _TEXT_CALL
    return "fail", f"no tool call; answered {one_line(result.output or '(nothing)', 60)}"


def judge_single(result: RunResult, *, protocol: Literal["native", "text"] = "native") -> Judgement:
    """A ``get_weather`` call for Paris with a valid argument (native, streamed or text protocol)."""
    native = protocol == "native"
    failed = _failed_run(result, native=native)
    if failed is not None:
        return failed
    if not result.tool_calls:
        return _no_call(result, native=native)
    first = result.tool_calls[0]
    if first.tool != "get_weather":
        return "fail", f"called {_call_text(first)} instead of get_weather"
    problem = _problem(first, CITY_SCHEMA)
    if problem is not None:
        return "fail", f"invalid arguments: {problem}"
    if "paris" not in str(first.arguments.get("city", "")).lower():
        return "fail", f"wrong arguments: {_call_text(first)}"
    return "pass", _call_text(first)


def judge_typed(result: RunResult) -> Judgement:
    """One ``book_table`` call whose integer, enum, array and object arguments validate and match."""
    failed = _failed_run(result, native=True)
    if failed is not None:
        return failed
    if not result.tool_calls:
        return _no_call(result)
    first = result.tool_calls[0]
    if first.tool != "book_table":
        return "fail", f"called {_call_text(first)} instead of book_table"
    problem = _problem(first, BOOK_SCHEMA)
    if problem is not None:
        return "fail", f"invalid arguments: {problem}"
    args = first.arguments
    contact = args["contact"]
    wrong = [
        f"{name}={one_line(args[name], 30)}"
        for name, ok in (
            ("guests", args["guests"] == 4),
            ("time", args["time"] == "19:00"),
            ("dishes", sorted(d.strip().lower() for d in args["dishes"]) == ["salad", "soup"]),
            (
                "contact",
                contact["name"].strip().lower() == "ada"
                and "".join(ch for ch in contact["phone"] if ch.isdigit()) == "5550100",
            ),
        )
        if not ok
    ]
    if wrong:
        return "fail", "valid types but wrong values: " + ", ".join(wrong)
    return "pass", "integer, enum, array and object arguments valid"


def judge_parallel(result: RunResult) -> Judgement:
    """``get_weather`` for Paris and for Tokyo, both in the first turn."""
    failed = _failed_run(result, native=True)
    if failed is not None:
        return failed
    calls = result.tool_calls
    if not calls:
        return _no_call(result)
    cities = [str(c.arguments.get("city", "")).lower() for c in calls if isinstance(c.arguments, dict)]
    both = any("paris" in c for c in cities) and any("tokyo" in c for c in cities)
    if len(calls) >= 2 and both:
        return "pass", f"{len(calls)} calls in one turn"
    if len(calls) == 1:
        return "fail", f"one call in the turn ({_call_text(calls[0])}); expected two"
    return "fail", f"{len(calls)} calls, not one per city: " + ", ".join(map(_call_text, calls))


def judge_restraint(result: RunResult) -> Judgement:
    """An answer without any tool call, when no tool is needed."""
    failed = _failed_run(result, native=True)
    if failed is not None:
        return failed
    if result.tool_calls:
        return "fail", "called " + ", ".join(map(_call_text, result.tool_calls)) + " though none was needed"
    if "<tool_call>" in result.output:
        return "fail", "wrote a <tool_call> though no tool was needed"
    return "pass", f"answered {one_line(result.output or '(nothing)', 60)} without tools"


def judge_required(result: RunResult) -> Judgement:
    """At least one call when ``tool_choice`` is ``required``, though the prompt needs none."""
    exc = result.exception
    if isinstance(exc, ProviderError) and exc.status == 404 and "tool_choice" in str(exc):
        return "fail", "the endpoint refuses tool_choice=required (404)"
    failed = _failed_run(result, native=True)
    if failed is not None:
        return failed
    if not result.tool_calls:
        if "<tool_call>" in result.output:
            return "fail", _TEXT_CALL
        return "fail", f"answered without a call despite tool_choice=required: {one_line(result.output, 60)}"
    return "pass", f"called {_call_text(result.tool_calls[0])}"


def judge_result(result: RunResult, token: str) -> Judgement:
    """The final answer contains the random token ``get_secret_code`` returned."""
    failed = _failed_run(result, native=True)
    if failed is not None:
        return failed
    if not result.tool_calls:
        return _no_call(result)
    if token in result.output:
        return "pass", "the answer quotes the tool's result"
    if result.stop_reason == "max_turns":
        return "fail", f"still calling tools after {result.turns} turns"
    return "fail", f"the answer lacks the tool's result: {one_line(result.output or '(nothing)', 60)}"
