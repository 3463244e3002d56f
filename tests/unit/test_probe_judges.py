"""The probe's judges: a run's result in, a verdict and its one-line detail out."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Literal

import pytest

from agent.errors import AgentError, ModelNotFoundError, NoToolEndpointsError, ProviderUnavailableError
from agent.models.judges import (
    Judgement,
    judge_parallel,
    judge_required,
    judge_restraint,
    judge_result,
    judge_single,
    judge_typed,
)
from agent.result import RunResult, ToolCallRecord

GOOD_BOOKING = {
    "guests": 4,
    "time": "19:00",
    "dishes": ["Soup", "salad"],
    "contact": {"name": "Ada", "phone": "555-0100"},
}


def rec(tool: str, arguments: Any, *, is_error: bool = False) -> ToolCallRecord:
    return ToolCallRecord(
        id="c", server="probe", tool=tool, arguments=arguments, output="x", is_error=is_error, duration_ms=1.0
    )


def run(
    output: str = "",
    *calls: ToolCallRecord,
    stop: Literal["completed", "max_turns", "timeout"] = "max_turns",
    protocol: Literal["native", "text"] = "native",
    turns: int = 1,
    error: AgentError | None = None,
) -> RunResult:
    result = RunResult(
        output=output, stop_reason=stop, tool_protocol=protocol, turns=turns, tool_calls=list(calls)
    )
    if error is not None:
        result.fail(error)
    return result


UNAVAILABLE = ProviderUnavailableError("the provider is unavailable (503): down", status=503)
REFUSED = "the endpoint takes no tools (404 no endpoints support tool use)"
TEXT_CALL = "wrote the call as <tool_call> text instead of a native tool call"

CASES: list[tuple[str, Callable[[RunResult], Judgement], RunResult, Judgement]] = [
    (
        "single: the right call passes",
        judge_single,
        run("", rec("get_weather", {"city": "Paris"})),
        ("pass", 'get_weather({"city":"Paris"})'),
    ),
    (
        "single: a 404 for tools fails natively",
        judge_single,
        run(error=NoToolEndpointsError("no endpoint of x supports tool use (404): No endpoints", status=404)),
        ("fail", REFUSED),
    ),
    (
        "single: the same run passes the text check",
        partial(judge_single, protocol="text"),
        run("", rec("get_weather", {"city": "Paris"}), protocol="text"),
        ("pass", 'get_weather({"city":"Paris"})'),
    ),
    (
        "single: a call written as text fails",
        judge_single,
        run('<tool_call>{"name": "get_weather"}</tool_call>', stop="completed"),
        ("fail", TEXT_CALL),
    ),
    (
        "single: no call in the text protocol says what was answered",
        partial(judge_single, protocol="text"),
        run("It is sunny.", stop="completed", protocol="text"),
        ("fail", "no tool call; answered It is sunny."),
    ),
    (
        "single: another tool fails",
        judge_single,
        run("", rec("get_time", {})),
        ("fail", "called get_time({}) instead of get_weather"),
    ),
    (
        "single: a wrong type fails with the schema problem",
        judge_single,
        run("", rec("get_weather", {"city": 75001}, is_error=True)),
        ("fail", "invalid arguments: 75001 is not of type 'string' at 'city'"),
    ),
    (
        "single: arguments that are not an object fail",
        judge_single,
        run("", rec("get_weather", "{city: Paris", is_error=True)),
        ("fail", "invalid arguments: not a JSON object: {city: Paris"),
    ),
    (
        "single: another city fails",
        judge_single,
        run("", rec("get_weather", {"city": "Lyon"})),
        ("fail", 'wrong arguments: get_weather({"city":"Lyon"})'),
    ),
    (
        "single: a provider error is an error",
        judge_single,
        run(error=UNAVAILABLE),
        ("error", "the provider is unavailable (503): down"),
    ),
    ("single: a timeout is an error", judge_single, run(stop="timeout"), ("error", "timed out")),
    (
        "typed: every type right passes",
        judge_typed,
        run("", rec("book_table", GOOD_BOOKING)),
        ("pass", "integer, enum, array and object arguments valid"),
    ),
    (
        "typed: an integer sent as a string fails",
        judge_typed,
        run("", rec("book_table", {**GOOD_BOOKING, "guests": "4"}, is_error=True)),
        ("fail", "invalid arguments: '4' is not of type 'integer' at 'guests'"),
    ),
    (
        "typed: a value outside the enum fails",
        judge_typed,
        run("", rec("book_table", {**GOOD_BOOKING, "time": "7pm"}, is_error=True)),
        ("fail", "invalid arguments: '7pm' is not one of ['18:00', '19:00', '20:00', '21:00'] at 'time'"),
    ),
    (
        "typed: an array sent as JSON text fails",
        judge_typed,
        run("", rec("book_table", {**GOOD_BOOKING, "dishes": '["soup", "salad"]'}, is_error=True)),
        ("fail", "invalid arguments: '[\"soup\", \"salad\"]' is not of type 'array' at 'dishes'"),
    ),
    (
        "typed: a nested object missing a field fails",
        judge_typed,
        run("", rec("book_table", {**GOOD_BOOKING, "contact": {"name": "Ada"}}, is_error=True)),
        ("fail", "invalid arguments: 'phone' is a required property at 'contact'"),
    ),
    (
        "typed: valid types with wrong values fail naming them",
        judge_typed,
        run("", rec("book_table", {**GOOD_BOOKING, "guests": 2, "dishes": ["soup"]})),
        ("fail", 'valid types but wrong values: guests=2, dishes=["soup"]'),
    ),
    (
        "parallel: both cities in one turn pass",
        judge_parallel,
        run("", rec("get_weather", {"city": "Paris"}), rec("get_weather", {"city": "Tokyo"})),
        ("pass", "2 calls in one turn"),
    ),
    (
        "parallel: one call per turn fails",
        judge_parallel,
        run("", rec("get_weather", {"city": "Paris"})),
        ("fail", 'one call in the turn (get_weather({"city":"Paris"})); expected two'),
    ),
    (
        "parallel: two calls for one city fail",
        judge_parallel,
        run("", rec("get_weather", {"city": "Paris"}), rec("get_weather", {"city": "Paris"})),
        (
            "fail",
            '2 calls, not one per city: get_weather({"city":"Paris"}), get_weather({"city":"Paris"})',
        ),
    ),
    (
        "restraint: an answer without calls passes",
        judge_restraint,
        run("4", stop="completed"),
        ("pass", "answered 4 without tools"),
    ),
    (
        "restraint: a call fails",
        judge_restraint,
        run("", rec("get_weather", {"city": "Paris"})),
        ("fail", 'called get_weather({"city":"Paris"}) though none was needed'),
    ),
    (
        "restraint: a call written as text fails",
        judge_restraint,
        run("<tool_call>{}</tool_call>", stop="completed"),
        ("fail", "wrote a <tool_call> though no tool was needed"),
    ),
    (
        "required: a call passes",
        judge_required,
        run("", rec("get_weather", {"city": "Oslo"})),
        ("pass", 'called get_weather({"city":"Oslo"})'),
    ),
    (
        "required: an answer without a call fails",
        judge_required,
        run("Hello there!", stop="completed"),
        ("fail", "answered without a call despite tool_choice=required: Hello there!"),
    ),
    (
        "required: an endpoint refusing the value fails",
        judge_required,
        run(
            error=ModelNotFoundError(
                "model x is not available (404): No endpoints found that support the provided "
                "'tool_choice' value",
                status=404,
            )
        ),
        ("fail", "the endpoint refuses tool_choice=required (404)"),
    ),
    (
        "result: an answer quoting the token passes",
        partial(judge_result, token="probe-1234abcd"),
        run("The code is probe-1234abcd.", rec("get_secret_code", {}), stop="completed", turns=2),
        ("pass", "the answer quotes the tool's result"),
    ),
    (
        "result: an answer without the token fails",
        partial(judge_result, token="probe-1234abcd"),
        run("The code is 42.", rec("get_secret_code", {}), stop="completed", turns=2),
        ("fail", "the answer lacks the tool's result: The code is 42."),
    ),
    (
        "result: calling on and on fails",
        partial(judge_result, token="probe-1234abcd"),
        run("", rec("get_secret_code", {}), rec("get_secret_code", {}), turns=3),
        ("fail", "still calling tools after 3 turns"),
    ),
    (
        "result: no call fails",
        partial(judge_result, token="probe-1234abcd"),
        run("I cannot know the code.", stop="completed"),
        ("fail", "no tool call; answered I cannot know the code."),
    ),
]


@pytest.mark.parametrize(("judge", "result", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_judge_gives_the_verdict_and_detail_the_run_deserves(
    judge: Callable[[RunResult], Judgement], result: RunResult, expected: Judgement
) -> None:
    assert judge(result) == expected


def test_a_long_answer_is_cut_to_one_short_line_in_the_detail() -> None:
    verdict, detail = judge_restraint(run("line one\nline two " + "x" * 200, stop="completed"))
    assert (verdict, detail) == ("pass", "answered line one line two " + "x" * 41 + "… without tools")
