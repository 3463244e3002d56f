"""Attacks on the ``<tool_call>`` text protocol: many unclosed blocks, thousands of calls, huge blocks.

80,000 unclosed blocks made parsing quadratic, and a reply of 5,000 calls ran 5,000 tools. Now a
reply is read in one pass, at most 32 blocks are read (the model is told the rest were not
run), and a block may be at most 1,000,000 characters long.
"""

from __future__ import annotations

from typing import Any

import pytest

from agent import safe_json
from agent.loop import RunOptions, run_agent
from agent.messages import ToolCall
from agent.testing import ScriptedChatModel, StaticToolset, reply
from agent.text_protocol import EXPECTED_FORMAT, MAX_BLOCK_CHARS, MAX_CALLS_PER_REPLY, ParsedReply, parse
from tests.security.linearity import assert_linear

UNCLOSED = [
    "<tool_call>",
    "<tool_call>{",
    '<tool_call>{"a": "',
    '<tool_call>{"name": "a"}',
    '<tool_call>{"name": "a", "arguments": {"s": "x</tool_call>',
    "<tool_call>```json\n{",
]


def too_many(extra: int) -> str:
    return (
        f"Only the first 32 tool calls of a reply are read: the other {extra} <tool_call> blocks were "
        "not run. Make those calls in your next reply if they are still needed, at most 32 at a time."
    )


def counting_decoder(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many characters each JSON decode of the parser is given."""
    sizes: list[int] = []
    decode = safe_json.raw_decode

    def counted(text: str, index: int = 0, **kwargs: Any) -> tuple[Any, int]:
        sizes.append(len(text) - index)
        return decode(text, index, **kwargs)

    monkeypatch.setattr(safe_json, "raw_decode", counted)
    return sizes


@pytest.mark.parametrize("unit", UNCLOSED)
@pytest.mark.parametrize(
    "tail", ["", "</tool_call>", '"}}</tool_call>'], ids=["no-close", "close", "string-close"]
)
def test_80k_unclosed_blocks_are_read_once_and_only_the_first_32(
    unit: str, tail: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = unit * 80_000 + tail
    sizes = counting_decoder(monkeypatch)
    reply = parse(text)
    assert len(reply.calls) + len(reply.problems) == MAX_CALLS_PER_REPLY + 1
    assert reply.problems[-1] == too_many(80_000 - MAX_CALLS_PER_REPLY)
    assert sum(sizes) <= 4 * MAX_CALLS_PER_REPLY * len(unit) + 2 * len(tail) + 64  # not 32 x the reply


@pytest.mark.parametrize("unit", UNCLOSED)
@pytest.mark.parametrize("tail", ["", "</tool_call>"], ids=["no-close", "close"])
def test_parsing_time_grows_linearly_with_the_reply(unit: str, tail: str) -> None:
    assert_linear(lambda text: parse(text + tail), unit, 10_000)


def test_json_strings_spanning_many_tags_are_decoded_in_windows_that_at_most_double(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    argument = "a</tool_call>b<tool_call>" * 20_000
    text = '<tool_call>{"name": "w", "arguments": {"t": "' + argument + '"}}</tool_call>'
    sizes = counting_decoder(monkeypatch)
    [call] = parse(text).calls
    assert call.arguments == '{"t": "' + argument + '"}'
    assert sum(sizes) <= 4 * len(text)


@pytest.mark.anyio
async def test_a_reply_of_5000_calls_runs_32_and_tells_the_model_why() -> None:
    ran = 0

    def tick() -> str:
        nonlocal ran
        ran += 1
        return "ok"

    calls = '<tool_call>{"name": "tick", "arguments": {}}</tool_call>\n' * 5_000
    model = ScriptedChatModel([reply(calls), reply("done")])
    result = await run_agent(model, StaticToolset().add("tick", tick), "go", RunOptions(protocol="text"))
    assert (result.stop_reason, result.output, ran, len(result.tool_calls)) == ("completed", "done", 32, 32)
    *_, results, feedback = model.requests[1].messages
    assert (results.role, results.content.count("<tool_response>")) == ("user", 32)
    assert (feedback.role, feedback.content) == ("user", too_many(5_000 - 32))


@pytest.mark.anyio
async def test_a_native_reply_holding_5000_text_calls_switches_protocol_and_runs_32() -> None:
    calls = '<tool_call>{"name": "tick", "arguments": {}}</tool_call>' * 5_000
    model = ScriptedChatModel([reply(calls), reply("done")])
    result = await run_agent(model, StaticToolset().add("tick", lambda: "ok"), "go")
    assert (result.tool_protocol, len(result.tool_calls), result.output) == ("text", 32, "done")


def test_a_block_over_the_size_limit_is_reported_without_decoding_past_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    huge = '<tool_call>{"name": "w", "arguments": {"t": "' + "x" * (3 * MAX_BLOCK_CHARS) + '"}}</tool_call>'
    sizes = counting_decoder(monkeypatch)
    reply = parse(huge + '<tool_call>{"name": "next"}</tool_call>', make_id=lambda: "id")
    assert reply == ParsedReply(
        text_outside="",
        calls=[ToolCall(id="id", name="next", arguments="{}")],
        problems=[
            f"Tool call 1 was not run: the call is longer than 1,000,000 characters. {EXPECTED_FORMAT}"
        ],
    )
    assert max(sizes) <= MAX_BLOCK_CHARS
    assert sum(sizes) <= 3 * MAX_BLOCK_CHARS


def test_a_block_just_under_the_size_limit_is_read() -> None:
    content = "x" * (MAX_BLOCK_CHARS - 100)
    reply = parse('<tool_call>{"name": "w", "arguments": {"t": "' + content + '"}}</tool_call>')
    assert [len(c.arguments) for c in reply.calls] == [len(content) + len('{"t": ""}')]
