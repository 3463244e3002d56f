from __future__ import annotations

import pytest

from agent.context import (
    ADVICE,
    Compaction,
    ContextGuard,
    OutputCap,
    cap_text,
    compact_tool_results,
    effective_reserve,
    placeholder,
)
from agent.errors import ContextLengthError
from agent.messages import (
    AssistantMessage,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
)
from agent.tokens import message_tokens

ASK = "ask for a smaller part (offset/limit, a narrower query)]"
LINES = "".join(f"line {i:03}\n" for i in range(100))  # 900 characters, 9 per line


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("abc", 10, "abc"),
        ("a" * 10, 10, "a" * 10),
        (
            "H" * 150 + "T" * 150,
            100,
            "H" * 90
            + f"\n[... output truncated: 300 characters, showing the first 90 and the last 10; {ASK}\n"
            + "T" * 10,
        ),
        (
            # cuts move back to line breaks so the model sees whole lines
            LINES,
            300,
            "".join(f"line {i:03}\n" for i in range(29))
            + "line 029"
            + f"\n[... output truncated: 900 characters, showing the first 269 and the last 27; {ASK}\n"
            + "line 097\nline 098\nline 099\n",
        ),
        (
            # a limit under 10 characters keeps the head only
            "abcdefghij",
            5,
            f"abcde\n[... output truncated: 10 characters, showing the first 5; {ASK}",
        ),
        (
            "a" * 250_000,
            100_000,
            "a" * 98_000
            + "\n[... output truncated: 250,000 characters, "
            + f"showing the first 98,000 and the last 2,000; {ASK}\n"
            + "a" * 2_000,
        ),
    ],
)
def test_over_long_text_keeps_head_and_tail_around_a_notice(text: str, limit: int, expected: str) -> None:
    assert cap_text(text, limit) == expected


@pytest.mark.parametrize(
    ("cap", "text", "expected"),
    [
        (OutputCap(), "x" * 500_000, "x" * 500_000),
        (OutputCap(max_chars=100), "H" * 150 + "T" * 150, cap_text("H" * 150 + "T" * 150, 100)),
        # 70 ASCII characters are 20 tokens: 10 tokens allow 35 characters
        (OutputCap(max_tokens=10), "a" * 70, cap_text("a" * 70, 35)),
        (OutputCap(max_chars=20, max_tokens=10), "a" * 70, cap_text("a" * 70, 20)),
        # 20 CJK characters are 26 tokens: 10 tokens allow 7 characters
        (
            OutputCap(max_tokens=10),
            "日" * 20,
            "日" * 7 + f"\n[... output truncated: 20 characters, showing the first 7; {ASK}",
        ),
        (OutputCap(max_chars=100, max_tokens=100), "short", "short"),
    ],
)
def test_output_cap_limits_characters_and_estimated_tokens(cap: OutputCap, text: str, expected: str) -> None:
    assert cap.apply(text) == expected


def test_placeholder_says_what_was_removed_and_how_to_get_it_back() -> None:
    assert placeholder(12_345) == (
        "[earlier tool result removed to fit the context window (12,345 characters); "
        "call the tool again if you still need it]"
    )


def history() -> list[Message]:
    """Sizes: [7, 8, 16, 207, 28, 107, 17, 16, 207] = 613 estimated tokens."""
    return [
        SystemMessage(content="be brief"),
        UserMessage(content="read things"),
        AssistantMessage(tool_calls=[ToolCall(id="a", name="read")]),
        ToolMessage(tool_call_id="a", name="read", content="x" * 700),
        AssistantMessage(tool_calls=[ToolCall(id="b", name="query"), ToolCall(id="c", name="read")]),
        ToolMessage(tool_call_id="b", name="query", content="y" * 350),
        ToolMessage(tool_call_id="c", name="read", content="z" * 35),
        AssistantMessage(tool_calls=[ToolCall(id="d", name="read")]),
        ToolMessage(tool_call_id="d", name="read", content="w" * 700),
    ]


def removed(message: Message) -> ToolMessage:
    assert isinstance(message, ToolMessage)
    return message.model_copy(update={"content": placeholder(len(message.content))})


def with_removed(messages: list[Message], *indices: int) -> list[Message]:
    return [removed(m) if i in indices else m for i, m in enumerate(messages)]


def sizes(messages: list[Message]) -> list[int]:
    return [message_tokens(m) for m in messages]


@pytest.mark.parametrize(
    ("messages", "excess", "expected_messages", "expected"),
    [
        (history(), 0, history(), Compaction()),
        # the oldest result goes first, and only as many as needed
        (history(), 1, with_removed(history(), 3), Compaction((3,), ("read",), 700, 167)),
        # results smaller than the placeholder and the latest turn's results are kept
        (
            history(),
            10**6,
            with_removed(history(), 3, 5),
            Compaction((3, 5), ("read", "query"), 1050, 234),
        ),
        # a result removed before is not removed (or counted) again
        (
            with_removed(history(), 3),
            10**6,
            with_removed(history(), 3, 5),
            Compaction((5,), ("query",), 350, 67),
        ),
        # after a final answer and a new prompt, the previous run's results are all earlier ones
        (
            [*history(), AssistantMessage(content="done"), UserMessage(content="next")],
            10**6,
            [
                *with_removed(history(), 3, 5, 8),
                AssistantMessage(content="done"),
                UserMessage(content="next"),
            ],
            Compaction((3, 5, 8), ("read", "query", "read"), 1750, 401),
        ),
        # nothing but the latest turn: nothing to remove
        (history()[:4], 10**6, history()[:4], Compaction()),
    ],
)
def test_compaction_replaces_the_oldest_earlier_tool_results_keeping_every_message(
    messages: list[Message], excess: int, expected_messages: list[Message], expected: Compaction
) -> None:
    assert compact_tool_results(messages, sizes(messages), excess) == expected
    assert messages == expected_messages


@pytest.mark.parametrize(
    ("compaction", "text"),
    [
        (Compaction((3,), ("read",), 700, 167), "1 earlier tool result (read; 700 characters)"),
        (
            Compaction((3, 5, 6), ("read", "query", "read"), 12_345, 1),
            "3 earlier tool results (read x2, query; 12,345 characters)",
        ),
    ],
)
def test_compaction_describes_what_it_removed(compaction: Compaction, text: str) -> None:
    assert compaction.describe() == text


@pytest.mark.parametrize(
    ("window", "calls", "expected"),
    [
        (None, 1, OutputCap(100_000, None)),
        # a quarter of context_window - reserve_tokens (8,000), shared by the turn's calls
        (10_000, 1, OutputCap(100_000, 2_000)),
        (10_000, 4, OutputCap(100_000, 500)),
        (10_000, 100, OutputCap(100_000, 256)),
    ],
)
def test_tool_output_cap_is_a_fair_share_of_a_known_window(
    window: int | None, calls: int, expected: OutputCap
) -> None:
    assert ContextGuard(window, 2_000, 100_000).output_cap(calls) == expected


def test_without_a_window_requests_are_never_compacted() -> None:
    messages = history()
    assert ContextGuard(None, 2_000, 100_000).fit(messages, []) is None
    assert messages == history()


def test_a_request_over_the_limit_is_compacted_to_four_fifths_of_it() -> None:
    messages = history()
    guard = ContextGuard(600, 50, None)  # limit 550, target 440: 613 - 440 = 173 to free
    notice = guard.fit(messages, [])
    assert notice == (
        "removed 2 earlier tool results (read, query; 1,050 characters) to fit the context window: "
        "from about 613 to 379 tokens (limit 550)"
    )
    assert messages == with_removed(history(), 3, 5)
    assert guard.fit(messages, []) is None


def test_a_request_that_cannot_fit_raises_naming_estimate_window_and_remedies() -> None:
    with pytest.raises(ContextLengthError) as caught:
        ContextGuard(400, 100, None).fit(history(), [])
    assert str(caught.value) == (
        "the request needs about 379 tokens (tool definitions 0) but only 300 fit the context window "
        f"(400 minus 100 reserved for the answer), even with earlier tool results removed; {ADVICE}"
    )


@pytest.mark.parametrize(
    ("window", "reserve", "expected"),
    [
        (None, 2_000, 2_000),
        (200_000, 2_000, 2_000),
        (4_000, 2_000, 2_000),  # half the window is still the configured reserve
        (3_000, 2_000, 750),  # more than half: a quarter of the window
        (2_000, 2_000, 500),
        (1_024, 2_000, 256),  # larger than the whole window
        (1_024, 0, 0),
    ],
)
def test_a_reserve_that_would_take_most_of_the_window_becomes_a_quarter_of_it(
    window: int | None, reserve: int, expected: int
) -> None:
    assert effective_reserve(window, reserve) == expected


def test_a_fixed_reserve_larger_than_a_small_window_is_scaled_down_not_fatal() -> None:
    guard = ContextGuard(1_024, 2_000, None)
    assert (guard.reserve, guard.limit) == (256, 768)
    assert guard.reserve_notice == (
        "reserve_tokens (2,000) would take most of the model's 1,024-token context window; "
        "keeping 256 tokens free for the answer"
    )
    messages = [UserMessage(content="hi")]
    assert guard.fit(messages, []) is None
    assert messages == [UserMessage(content="hi")]


def test_a_reserve_that_fits_the_window_is_kept_without_a_notice() -> None:
    guard = ContextGuard(8_192, 2_000, None)
    assert (guard.reserve, guard.limit, guard.reserve_notice) == (2_000, 6_192, None)


def test_a_request_too_long_for_a_scaled_reserve_says_the_reserve_was_scaled() -> None:
    with pytest.raises(ContextLengthError) as caught:
        ContextGuard(360, 1_000, None).fit(history(), [])
    assert str(caught.value) == (
        "the request needs about 379 tokens (tool definitions 0) but only 270 fit the context window "
        "(360 minus 90 reserved for the answer, scaled down from reserve_tokens 1,000), "
        f"even with earlier tool results removed; {ADVICE}"
    )


def test_reported_prompt_tokens_make_later_estimates_larger() -> None:
    guard = ContextGuard(1_000, 0, None)
    messages = history()
    assert guard.fit(messages, []) is None
    guard.observe(Usage(prompt_tokens=1_226))  # twice the estimate of 613
    assert guard.fit(messages, []) == (
        "removed 2 earlier tool results (read, query; 1,050 characters) to fit the context window: "
        "from about 1,226 to 758 tokens (limit 1,000)"
    )


def rejection() -> ContextLengthError:
    return ContextLengthError(
        "the request does not fit the model's context window: too many tokens", status=400, model="m/x"
    )


def test_a_rejected_request_is_compacted_to_half_and_the_limit_is_learned() -> None:
    messages = history()
    guard = ContextGuard(None, 2_000, None)
    notice = guard.shrink(messages, [], rejection())
    assert notice == (
        "the model rejected the request as too long for its context window; removed 2 earlier tool "
        "results (read, query; 1,050 characters) and retrying with about 379 tokens instead of 613"
    )
    assert messages == with_removed(history(), 3, 5)
    assert guard.limit == 551
    error = guard.still_too_long(rejection())
    assert (str(error), error.status, error.model) == (
        "the request does not fit the model's context window: too many tokens; it still did not fit "
        f"after removing earlier tool results (about 379 tokens); {ADVICE}",
        400,
        "m/x",
    )


def test_a_rejected_request_with_nothing_to_remove_raises_at_once() -> None:
    guard = ContextGuard(None, 2_000, None)
    with pytest.raises(ContextLengthError) as caught:
        guard.shrink([UserMessage(content="x" * 3_500)], [], rejection())
    assert str(caught.value) == (
        "the request does not fit the model's context window: too many tokens; there is no earlier "
        f"tool result left to remove (about 1,004 tokens); {ADVICE}"
    )
