"""Attacks with deeply nested JSON: ``[[[[…]]]]`` where a model or an endpoint sends JSON.

``json.loads`` raised RecursionError at ~1,000 levels and killed the run; values a little less
deep passed and sank pydantic (255 levels) or the error redaction later. All such JSON now goes
through :mod:`agent.safe_json`: a stream event or body becomes a failed turn, tool-call
arguments become an error result for that call, and the run goes on.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from agent import safe_json
from agent.errors import ProviderUnavailableError, ResponseLimitError
from agent.loop import RunOptions, run_agent
from agent.messages import AssistantMessage, ToolCall, ToolMessage
from agent.providers.retry_policy import retry_delay
from agent.safe_json import MAX_DEPTH, JSONTooDeepError
from agent.testing import ScriptedChatModel, StaticToolset, call, reply
from agent.text_protocol import format_call, to_text_history
from tests.unit.test_openai_compat_support import MODEL, chunk, complete, stream_response

DEEP = "[" * 100_000
TOO_DEEP = "nested too deeply (more than 128 levels of arrays and objects)"


def nested(depth: int) -> str:
    """A JSON object whose arrays nest ``depth`` levels in all (the object is level one)."""
    return '{"x": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


@pytest.mark.parametrize("text", [DEEP, "{" + '"a":{' * 100_000, nested(129), nested(900)])
def test_loads_refuses_nesting_past_the_limit_without_recursion_error(text: str) -> None:
    with pytest.raises(JSONTooDeepError) as info:
        safe_json.loads(text)
    assert str(info.value) == TOO_DEEP
    with pytest.raises(JSONTooDeepError):
        safe_json.loads(text.encode())
    with pytest.raises(JSONTooDeepError):
        safe_json.raw_decode("  " + text, 2)


def test_loads_accepts_nesting_up_to_the_limit() -> None:
    assert MAX_DEPTH == 128
    assert safe_json.loads(nested(128)) == json.loads(nested(128))
    assert safe_json.raw_decode("xx" + nested(128) + " tail", 2) == (
        json.loads(nested(128)),
        2 + len(nested(128)),
    )


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"s": "[" * 10_000, "t": ["{" * 500]})
    assert safe_json.loads(text) == {"s": "[" * 10_000, "t": ["{" * 500]}


def test_many_shallow_containers_are_fine() -> None:
    value = [[{"a": [1]}] for _ in range(10_000)]
    assert safe_json.loads(json.dumps(value)) == value


def test_invalid_json_is_still_a_plain_value_error() -> None:
    with pytest.raises(ValueError) as info:
        safe_json.loads("{nope")
    assert not isinstance(info.value, JSONTooDeepError)


@pytest.mark.anyio
@pytest.mark.parametrize("deep", [DEEP, nested(300)], ids=["recursion-deep", "accepted-by-json"])
async def test_a_deeply_nested_stream_event_fails_the_turn_without_retrying(deep: str) -> None:
    events = [chunk({"content": "Hel"}), '{"choices": [{"delta": {"content": ' + deep + "}}]}"]
    with pytest.raises(ResponseLimitError) as info:
        await complete(stream_response(events), stream=True)
    exc = info.value
    assert (str(exc), exc.model) == (f"the JSON of a stream chunk is {TOO_DEEP}", MODEL)
    assert retry_delay(exc, 1, max_retries=5) is None


@pytest.mark.anyio
async def test_a_deeply_nested_whole_body_fails_the_turn() -> None:
    with pytest.raises(ResponseLimitError) as info:
        await complete(httpx.Response(200, content=b'{"choices": ' + DEEP.encode()), stream=False)
    assert str(info.value) == f"the JSON of the response body is {TOO_DEEP}"


@pytest.mark.anyio
async def test_a_deeply_nested_error_body_is_reported_as_text() -> None:
    body = '{"error": {"message": "boom", "metadata": ' + nested(200) + "}}"
    with pytest.raises(ProviderUnavailableError) as info:
        await complete(httpx.Response(503, content=body.encode()), stream=False)
    assert str(info.value).startswith('the provider is unavailable (503): {"error": {"message": "boom"')


ANY_JSON: dict[str, Any] = {
    "anyOf": [
        {"type": "array", "items": {"$ref": "#/$defs/any"}},
        {"type": "object", "additionalProperties": {"$ref": "#/$defs/any"}},
        {"type": ["string", "boolean", "null"]},  # no numbers, at any depth
    ]
}


def adder() -> StaticToolset:
    """A tool whose schema recurses into every level (and refuses numbers at any of them)."""
    schema = {"type": "object", "additionalProperties": {"$ref": "#/$defs/any"}, "$defs": {"any": ANY_JSON}}
    return StaticToolset("calc").add("add", lambda **kw: "ran", schema=schema)


def tool_messages(model: ScriptedChatModel, request: int) -> list[ToolMessage]:
    return [m for m in model.requests[request].messages if isinstance(m, ToolMessage)]


@pytest.mark.anyio
@pytest.mark.parametrize("arguments", [DEEP, "{" + '"a":{' * 100_000, nested(129), nested(500)])
async def test_deeply_nested_native_arguments_become_an_error_result_and_the_run_goes_on(
    arguments: str,
) -> None:
    number_deep_down = '{"x": ' + "[" * (MAX_DEPTH - 2) + "1" + "]" * (MAX_DEPTH - 2) + "}"
    calls = [
        call("add", arguments, id="deep"),
        call("add", nested(MAX_DEPTH), id="fine"),
        call("add", number_deep_down, id="invalid"),
    ]
    model = ScriptedChatModel([reply(None, *calls), reply("carried on")])
    result = await run_agent(model, adder(), "go")
    assert (result.stop_reason, result.output) == ("completed", "carried on")
    deep, fine, invalid = tool_messages(model, 1)
    assert (deep.tool_call_id, deep.is_error, deep.content) == (
        "deep",
        True,
        f"Invalid arguments for tool 'add': the arguments are not valid JSON: {TOO_DEEP}. "
        "Send the arguments as one JSON object matching the tool's schema.",
    )
    assert (fine.tool_call_id, fine.is_error, fine.content) == ("fine", False, "ran")
    assert (invalid.tool_call_id, invalid.is_error) == ("invalid", True)
    assert "is not valid under any of the given schemas at 'x" in invalid.content  # validated all the way
    result.model_dump_json()  # the record of the call serialises, whatever the arguments were


@pytest.mark.anyio
@pytest.mark.parametrize("arguments", [DEEP, nested(129), nested(500)])
async def test_a_deeply_nested_tool_call_block_is_reported_and_the_run_goes_on(arguments: str) -> None:
    block = '<tool_call>{"name": "add", "arguments": ' + arguments + "}</tool_call>"
    fine = '<tool_call>{"name": "add", "arguments": ' + nested(MAX_DEPTH - 1) + "}</tool_call>"
    model = ScriptedChatModel([reply(block + fine), reply("carried on")])
    result = await run_agent(model, adder(), "go", RunOptions(protocol="text"))
    assert (result.stop_reason, result.output) == ("completed", "carried on")
    assert [c.output for c in result.tool_calls] == ["ran"]
    feedback = model.requests[1].messages[-1].content
    assert feedback.startswith(f"Tool call 1 was not run: the JSON is {TOO_DEEP}. ")


def test_text_history_keeps_deep_arguments_as_text_instead_of_failing() -> None:
    deep_call = ToolCall(id="c", name="add", arguments=DEEP)
    assert (
        format_call(deep_call)
        == "<tool_call>\n" + json.dumps({"name": "add", "arguments": DEEP}) + "\n</tool_call>"
    )
    [message] = to_text_history([AssistantMessage(tool_calls=[deep_call])])
    assert isinstance(message, AssistantMessage) and message.content is not None


def deep_value(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_whatever_the_helper_accepts_survives_pydantic_deepcopy_and_json() -> None:
    import copy

    from agent.result import ToolCallRecord

    value = deep_value(MAX_DEPTH)
    assert safe_json.loads(json.dumps(value)) == value
    record = ToolCallRecord(
        id="x", server="s", tool="t", arguments=value, output="", is_error=False, duration_ms=0
    )
    assert json.loads(record.model_dump_json())["arguments"] == value
    assert copy.deepcopy(value) == value
