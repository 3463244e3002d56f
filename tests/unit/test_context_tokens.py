from __future__ import annotations

from collections.abc import Sequence

import pytest

import agent.tokens
from agent.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    ToolSpec,
    Usage,
    UserMessage,
)
from agent.tokens import TokenCounter, message_tokens, text_tokens, tools_tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("abc", 1),
        ("a" * 35, 10),
        ("a" * 36, 11),
        ("日本語", 4),  # 3 chars, 6 extra UTF-8 bytes: 3/3.5 + 3
        ("Привет", 5),  # 6 chars, 6 extra bytes: 6/3.5 + 3
        ("😀", 2),  # 1 char, 3 extra bytes: 1/3.5 + 1.5
        ("\ud800", 2),  # a lone surrogate does not break the estimate
    ],
)
def test_text_estimate_counts_ascii_at_3_5_chars_a_token_and_other_scripts_denser(
    text: str, tokens: int
) -> None:
    assert text_tokens(text) == tokens


@pytest.mark.parametrize(
    ("message", "tokens"),
    [
        (SystemMessage(content=""), 4),
        (UserMessage(content="a" * 35), 4 + 10),
        (ToolMessage(tool_call_id="c1", name="read", content="x" * 70), 4 + 1 + 2 + 20),
        (
            AssistantMessage(tool_calls=[ToolCall(id="c1", name="read", arguments='{"path": "a.txt"}')]),
            4 + 8 + 1 + 2 + 5,
        ),
        (
            # the reasoning text is not sent back; reasoning_details are (108 characters of JSON)
            AssistantMessage(
                content="hi",
                reasoning="thinking " * 100,
                reasoning_details=[{"type": "reasoning.encrypted", "data": "x" * 63}],
            ),
            4 + 1 + 31,
        ),
    ],
)
def test_message_estimate_counts_content_tool_calls_and_reasoning_details(
    message: Message, tokens: int
) -> None:
    assert message_tokens(message) == tokens


@pytest.mark.parametrize(
    ("tools", "tokens"),
    [
        ([], 0),
        # 103 characters of JSON: 100 for offering tools + 10 for the tool + 30
        ([ToolSpec(name="add", description="Add two numbers")], 140),
        ([ToolSpec(name="add", description="Add two numbers")] * 2, 100 + 20 + 59),
    ],
)
def test_tool_definitions_are_estimated_from_their_json_plus_framing(
    tools: list[ToolSpec], tokens: int
) -> None:
    assert tools_tokens(tools) == tokens


def spy(monkeypatch: pytest.MonkeyPatch, name: str) -> list[object]:
    seen: list[object] = []
    real = getattr(agent.tokens, name)

    def counting(value: object) -> int:
        seen.append(value)
        result: int = real(value)
        return result

    monkeypatch.setattr(agent.tokens, name, counting)
    return seen


def test_counter_estimates_each_message_object_once(monkeypatch: pytest.MonkeyPatch) -> None:
    computed = spy(monkeypatch, "message_tokens")
    first, second, third = (UserMessage(content=c) for c in ("a" * 35, "b" * 70, "c" * 7))
    history: list[Message] = [first, second]
    counter = TokenCounter()

    assert counter.sizes(history) == [14, 24]
    assert computed == [first, second]

    computed.clear()
    history.append(third)
    assert counter.sizes(history) == [14, 24, 6]
    assert computed == [third]

    computed.clear()
    replacement = UserMessage(content="short")
    history[1] = replacement
    assert counter.sizes(history) == [14, 6, 6]
    assert computed == [replacement]

    computed.clear()
    assert counter.sizes(history[:1]) == [14]
    assert counter.sizes(history) == [14, 6, 6]
    assert computed == [replacement, third]


def test_counter_estimates_each_tool_list_object_once(monkeypatch: pytest.MonkeyPatch) -> None:
    computed = spy(monkeypatch, "tools_tokens")
    specs = [ToolSpec(name="add", description="Add two numbers")]
    counter = TokenCounter()
    assert [counter.tools(specs), counter.tools(specs)] == [140, 140]
    other: Sequence[ToolSpec] = []
    assert counter.tools(other) == 0
    assert computed == [specs, other]


@pytest.mark.parametrize(
    ("scale", "raw_estimate", "prompt_tokens", "expected"),
    [
        (1.0, 100, 0, 1.0),  # no usage reported
        (1.0, 100, 80, 1.0),  # the estimate was high enough: never scale down
        (1.0, 100, 150, 1.5),
        (1.5, 100, 120, 1.5),  # a smaller surprise keeps the larger factor
        (1.0, 100, 1000, 3.0),  # bogus usage cannot inflate estimates beyond 3x
        (1.0, 0, 50, 1.0),  # nothing was estimated
    ],
)
def test_reported_prompt_tokens_above_the_estimate_scale_later_estimates_up(
    scale: float, raw_estimate: int, prompt_tokens: int, expected: float
) -> None:
    counter = TokenCounter()
    counter.scale = scale
    counter.observe(raw_estimate, Usage(prompt_tokens=prompt_tokens))
    assert counter.scale == expected


@pytest.mark.parametrize(("scale", "raw", "scaled", "back"), [(1.0, 100, 100, 100), (1.5, 101, 152, 67)])
def test_scaling_converts_between_estimate_units_and_tokens(
    scale: float, raw: int, scaled: int, back: int
) -> None:
    counter = TokenCounter()
    counter.scale = scale
    assert (counter.scaled(raw), counter.unscaled(raw)) == (scaled, back)
