from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

from agent.context import cap_text, placeholder
from agent.errors import AuthenticationError, ConfigError, ContextLengthError
from agent.events import Event, Notice, RunFinished, TextDelta, ToolCallFinished, ToolCallStarted
from agent.loop import MAX_CALLS_PER_TURN, RunOptions, run_agent
from agent.messages import (
    AssistantMessage,
    AudioPart,
    ImagePart,
    Message,
    SystemMessage,
    ToolCall,
    ToolMessage,
    Usage,
    UserMessage,
)
from agent.schema_shapes import SchemaProfile
from agent.testing import ScriptedChatModel, StaticToolset, call, reply
from agent.tool_schema import model_parameters
from agent.tools import ToolOutcome

pytestmark = pytest.mark.anyio

ADD_SCHEMA = {
    "type": "object",
    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"],
}


def calc_tools() -> StaticToolset:
    return StaticToolset("calc").add("add", lambda a, b: str(a + b), schema=ADD_SCHEMA)


def tool_messages(messages: list[Message]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


async def test_answer_without_tool_calls_completes_the_run() -> None:
    usage = Usage(prompt_tokens=3, completion_tokens=1, total_tokens=4)
    model = ScriptedChatModel([reply("hello", usage=usage)])
    result = await run_agent(model, StaticToolset(), "hi")
    assert (result.output, result.stop_reason, result.turns) == ("hello", "completed", 1)
    assert result.usage == Usage(prompt_tokens=3, completion_tokens=1, total_tokens=4)
    assert result.models_tried == ["scripted/model"]
    model.assert_consumed()


async def test_tool_results_are_fed_back_in_call_order_with_their_ids() -> None:
    model = ScriptedChatModel(
        [
            reply(None, call("add", {"a": 1, "b": 2}, id="c1"), call("add", {"a": 5, "b": 5}, id="c2")),
            reply("3 and 10"),
        ]
    )
    result = await run_agent(model, calc_tools(), "add things")
    second = model.requests[1].messages
    assert [(m.tool_call_id, m.content, m.is_error) for m in tool_messages(second)] == [
        ("c1", "3", False),
        ("c2", "10", False),
    ]
    assert [(c.id, c.server, c.tool, c.arguments, c.output) for c in result.tool_calls] == [
        ("c1", "calc", "add", {"a": 1, "b": 2}, "3"),
        ("c2", "calc", "add", {"a": 5, "b": 5}, "10"),
    ]
    assert model.requests[0].tools[0].name == "add"
    assert (result.output, result.turns) == ("3 and 10", 2)


async def test_read_only_calls_of_one_turn_run_concurrently() -> None:
    started = 0
    all_started = anyio.Event()

    async def wait_for_all() -> str:
        nonlocal started
        started += 1
        if started == 3:
            all_started.set()
        await all_started.wait()
        return "ok"

    tools = StaticToolset().add("wait", wait_for_all, read_only=True)
    model = ScriptedChatModel([reply(None, call("wait"), call("wait"), call("wait")), reply("done")])
    with anyio.fail_after(5):
        result = await run_agent(model, tools, "go")
    assert [c.output for c in result.tool_calls] == ["ok", "ok", "ok"]


async def test_parallel_calls_are_bounded_by_max_parallel_tools() -> None:
    running = 0
    peak = 0

    async def track() -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await anyio.lowlevel.checkpoint()
        await anyio.lowlevel.checkpoint()
        running -= 1
        return "ok"

    tools = StaticToolset().add("track", track, read_only=True)
    model = ScriptedChatModel([reply(None, *(call("track") for _ in range(6))), reply("done")])
    await run_agent(model, tools, "go", RunOptions(max_parallel_tools=2))
    assert peak == 2


async def test_calls_past_the_per_turn_cap_are_answered_with_an_error_and_not_run() -> None:
    ran = 0

    def count() -> str:
        nonlocal ran
        ran += 1
        return "ok"

    tools = StaticToolset().add("count", count)
    extra = MAX_CALLS_PER_TURN + 5
    model = ScriptedChatModel(
        [reply(None, *(call("count", id=f"c{i}") for i in range(extra))), reply("done")]
    )
    result = await run_agent(model, tools, "go")
    messages = tool_messages(model.requests[1].messages)
    assert ran == MAX_CALLS_PER_TURN
    assert [m.tool_call_id for m in messages] == [f"c{i}" for i in range(extra)]
    assert [m.is_error for m in messages] == [False] * MAX_CALLS_PER_TURN + [True] * 5
    assert messages[-1].content.startswith(f"Not run: only the first {MAX_CALLS_PER_TURN} tool calls")
    assert result.stop_reason == "completed"


async def test_unknown_tool_returns_error_listing_available_tools() -> None:
    model = ScriptedChatModel([reply(None, call("subtract", {"a": 1}, id="x")), reply("sorry")])
    result = await run_agent(model, calc_tools(), "go")
    [message] = tool_messages(model.requests[1].messages)
    assert message.is_error
    assert message.content == "Unknown tool 'subtract'. Available tools: add."
    assert (result.tool_calls[0].server, result.tool_calls[0].tool) == ("", "subtract")
    assert result.stop_reason == "completed"


async def test_arguments_that_are_not_json_become_an_error_result() -> None:
    model = ScriptedChatModel([reply(None, call("add", '{"a": 1,', id="x")), reply("oops")])
    result = await run_agent(model, calc_tools(), "go")
    [message] = tool_messages(model.requests[1].messages)
    assert message.is_error
    assert message.content.startswith("Invalid arguments for tool 'add': ")
    assert "JSON object" in message.content
    assert result.tool_calls[0].arguments == '{"a": 1,'


async def test_arguments_that_do_not_match_the_schema_name_the_problem() -> None:
    model = ScriptedChatModel([reply(None, call("add", {"a": "one", "b": 2})), reply("oops")])
    await run_agent(model, calc_tools(), "go")
    [message] = tool_messages(model.requests[1].messages)
    assert message.is_error
    assert "'one' is not of type 'integer' at 'a'" in message.content
    assert '"required": ["a", "b"]' in message.content


async def test_empty_arguments_mean_an_empty_object() -> None:
    tools = StaticToolset().add("now", lambda: "12:00")
    model = ScriptedChatModel([reply(None, call("now", "")), reply("noon")])
    result = await run_agent(model, tools, "time?")
    assert (result.tool_calls[0].arguments, result.tool_calls[0].output) == ({}, "12:00")


async def test_a_failing_tool_becomes_an_error_result_and_the_run_goes_on() -> None:
    def explode() -> str:
        raise ValueError("disk on fire")

    tools = StaticToolset().add("explode", explode)
    model = ScriptedChatModel([reply(None, call("explode")), reply("it failed")])
    result = await run_agent(model, tools, "go")
    assert result.tool_calls[0].is_error
    assert result.tool_calls[0].output == "ValueError: disk on fire"
    assert (result.stop_reason, result.output) == ("completed", "it failed")


async def test_a_tool_exceeding_the_tool_timeout_is_cancelled_and_reported() -> None:
    cancelled = anyio.Event()

    async def hang() -> str:
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()
        return "never"

    tools = StaticToolset().add("hang", hang).add("quick", lambda: "fast")
    model = ScriptedChatModel([reply(None, call("hang"), call("quick")), reply("partial")])
    result = await run_agent(model, tools, "go", RunOptions(tool_timeout=0.05))
    assert cancelled.is_set()
    assert [(c.tool, c.is_error, c.output) for c in result.tool_calls] == [
        ("hang", True, "Tool 'hang' timed out after 0.05 s and was cancelled."),
        ("quick", False, "fast"),
    ]
    assert result.stop_reason == "completed"


async def test_max_turns_stops_a_model_that_keeps_calling_tools() -> None:
    model = ScriptedChatModel([reply("thinking", call("add", {"a": 1, "b": 1})) for _ in range(3)])
    events: list[Event] = []
    result = await run_agent(model, calc_tools(), "loop", RunOptions(max_turns=3), on_event=events.append)
    assert (result.stop_reason, result.turns, len(result.tool_calls)) == ("max_turns", 3, 3)
    assert result.output == "thinking"
    assert any(isinstance(e, Notice) and "--max-turns" in e.message for e in events)
    model.assert_consumed()


async def test_run_timeout_stops_the_run_with_stop_reason_timeout() -> None:
    async def hang() -> str:
        await anyio.sleep_forever()
        return ""

    tools = StaticToolset().add("hang", hang)
    model = ScriptedChatModel([reply(None, call("hang"))])
    result = await run_agent(model, tools, "go", RunOptions(timeout=0.05, tool_timeout=None))
    assert result.stop_reason == "timeout"
    assert result.error is None


async def test_provider_errors_end_the_run_with_the_error_recorded() -> None:
    error = AuthenticationError("the API key was refused (401): User not found.", status=401)
    model = ScriptedChatModel([error])
    result = await run_agent(model, StaticToolset(), "hi")
    assert result.stop_reason == "error"
    assert result.error is not None
    assert (result.error.type, result.error.message) == (
        "AuthenticationError",
        "the API key was refused (401): User not found.",
    )
    assert isinstance(result.exception, AuthenticationError)


async def test_required_tool_choice_applies_to_the_first_turn_only() -> None:
    model = ScriptedChatModel([reply(None, call("add", {"a": 1, "b": 1})), reply("2")])
    await run_agent(model, calc_tools(), "go", RunOptions(tool_choice="required"))
    assert [r.settings.tool_choice for r in model.requests] == ["required", "auto"]


async def test_no_tools_means_no_tool_choice_is_sent() -> None:
    model = ScriptedChatModel([reply("hi")])
    await run_agent(model, StaticToolset(), "go", RunOptions(tool_choice="required"))
    assert (model.requests[0].tools, model.requests[0].settings.tool_choice) == ([], None)


async def test_streamed_text_arrives_as_events() -> None:
    model = ScriptedChatModel([reply("hello world")])
    events: list[Event] = []
    await run_agent(model, StaticToolset(), "hi", RunOptions(stream=True), on_event=events.append)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "hello world"
    assert model.requests[0].settings.stream


async def test_an_answer_cut_off_at_the_token_limit_completes_with_a_warning() -> None:
    response = reply("partial answ")
    response.finish_reason = "length"
    events: list[Event] = []
    result = await run_agent(ScriptedChatModel([response]), StaticToolset(), "hi", on_event=events.append)
    assert (result.stop_reason, result.output) == ("completed", "partial answ")
    assert any(isinstance(e, Notice) and "token limit" in e.message for e in events)


async def test_tool_events_come_in_start_finish_pairs() -> None:
    model = ScriptedChatModel([reply(None, call("add", {"a": 2, "b": 2}, id="c9")), reply("4")])
    events: list[Event] = []
    await run_agent(model, calc_tools(), "go", on_event=events.append)
    tool_events = [e for e in events if isinstance(e, ToolCallStarted | ToolCallFinished)]
    assert [type(e).__name__ for e in tool_events] == ["ToolCallStarted", "ToolCallFinished"]
    finished = tool_events[1]
    assert isinstance(finished, ToolCallFinished)
    assert (finished.call.id, finished.call.output) == ("c9", "4")


async def test_system_prompt_and_history_are_kept_in_order() -> None:
    model = ScriptedChatModel([reply("ok")])
    history: list[Message] = []
    await run_agent(model, StaticToolset(), "hi", RunOptions(system="be brief"), history=history)
    assert [m.role for m in history] == ["system", "user", "assistant"]
    assert isinstance(history[1], UserMessage)


async def test_a_toolset_outcome_with_is_error_is_passed_through() -> None:
    tools = StaticToolset().add("deny", lambda: ToolOutcome("Access denied", is_error=True))
    model = ScriptedChatModel([reply(None, call("deny")), reply("denied")])
    result = await run_agent(model, tools, "go")
    assert (result.tool_calls[0].is_error, result.tool_calls[0].output) == (True, "Access denied")


# --- keeping requests inside the context window ---

TRUNCATION_ASK = "ask for a smaller part (offset/limit, a narrower query)]"
CONTEXT_ADVICE = "use a model with a larger context window, a smaller --max-tool-output, or fewer servers"


def earlier_run(*results: str) -> list[Message]:
    """A history in which an earlier prompt read one file per result, then answered."""
    messages: list[Message] = [SystemMessage(content="be brief"), UserMessage(content="read the files")]
    for n, content in enumerate(results, 1):
        messages.append(AssistantMessage(tool_calls=[ToolCall(id=f"r{n}", name="read")]))
        messages.append(ToolMessage(tool_call_id=f"r{n}", name="read", content=content))
    messages.append(AssistantMessage(content="read them"))
    return messages


def without_results(messages: list[Message], *ids: str) -> list[Message]:
    return [
        m.model_copy(update={"content": placeholder(len(m.content))})
        if isinstance(m, ToolMessage) and m.tool_call_id in ids
        else m
        for m in messages
    ]


def too_long() -> ContextLengthError:
    return ContextLengthError(
        "the request does not fit the model's context window: maximum context length exceeded",
        status=400,
        model="scripted/model",
    )


async def test_a_huge_tool_result_is_capped_with_a_notice_the_model_sees() -> None:
    tools = StaticToolset().add("dump", lambda: "x" * 250_000)
    model = ScriptedChatModel([reply(None, call("dump", id="d1")), reply("too much")])
    result = await run_agent(model, tools, "dump it")
    capped = (
        "x" * 98_000
        + "\n[... output truncated: 250,000 characters, showing the first 98,000 and the last 2,000; "
        + TRUNCATION_ASK
        + "\n"
        + "x" * 2_000
    )
    [message] = tool_messages(model.requests[1].messages)
    assert (message.tool_call_id, message.content) == ("d1", capped)
    assert result.tool_calls[0].output == capped


async def test_max_tool_output_chars_none_passes_results_through_whole() -> None:
    tools = StaticToolset().add("dump", lambda: "x" * 250_000)
    model = ScriptedChatModel([reply(None, call("dump")), reply("all of it")])
    result = await run_agent(model, tools, "dump it", RunOptions(max_tool_output_chars=None))
    assert result.tool_calls[0].output == "x" * 250_000


async def test_each_result_of_a_turn_gets_a_fair_share_of_a_known_window() -> None:
    tools = StaticToolset().add("dump", lambda: "a" * 7_000)  # 2,000 estimated tokens
    model = ScriptedChatModel([reply(None, call("dump"), call("dump")), reply("two halves")])
    options = RunOptions(context_window=4_000, reserve_tokens=1_000)
    result = await run_agent(model, tools, "go", options)
    # a quarter of 3,000 tokens shared by 2 calls: 375 tokens, 1,312 of these characters each
    assert [c.output for c in result.tool_calls] == [cap_text("a" * 7_000, 1_312)] * 2


async def test_a_long_history_is_compacted_so_the_request_fits() -> None:
    history = earlier_run("a" * 3_500, "b" * 3_500)  # about 1,000 tokens each
    model = ScriptedChatModel([reply("ok")])
    events: list[Event] = []
    options = RunOptions(context_window=2_500, reserve_tokens=500)
    result = await run_agent(model, StaticToolset(), "next", options, on_event=events.append, history=history)
    expected = [*without_results(earlier_run("a" * 3_500, "b" * 3_500), "r1"), UserMessage(content="next")]
    assert model.requests[0].messages == expected
    assert history == [*expected, AssistantMessage(content="ok")]
    assert [e.message for e in events if isinstance(e, Notice)] == [
        "removed 1 earlier tool result (read; 3,500 characters) to fit the context window: "
        "from about 2,074 to 1,108 tokens (limit 2,000)"
    ]
    assert result.stop_reason == "completed"


async def test_a_request_that_cannot_fit_fails_before_it_is_sent() -> None:
    model = ScriptedChatModel([])
    options = RunOptions(context_window=1_000, reserve_tokens=100)
    result = await run_agent(model, calc_tools(), "x" * 3_500, options)
    assert result.error is not None
    assert (result.stop_reason, result.error.type, result.error.message) == (
        "error",
        "ContextLengthError",
        "the request needs about 1,161 tokens (tool definitions 157) but only 900 fit the context "
        "window (1,000 minus 100 reserved for the answer), even with earlier tool results removed; "
        + CONTEXT_ADVICE,
    )
    assert model.requests == []


async def test_a_context_length_error_triggers_compaction_and_one_retry() -> None:
    history = earlier_run("a" * 3_500, "b" * 3_500, "c" * 3_500)
    model = ScriptedChatModel([too_long(), reply("fits now")])
    events: list[Event] = []
    result = await run_agent(model, StaticToolset(), "next", on_event=events.append, history=history)
    original = [*earlier_run("a" * 3_500, "b" * 3_500, "c" * 3_500), UserMessage(content="next")]
    assert [r.messages for r in model.requests] == [original, without_results(original, "r1", "r2")]
    assert [e.message for e in events if isinstance(e, Notice)] == [
        "the model rejected the request as too long for its context window; removed 2 earlier tool "
        "results (read x2; 7,000 characters) and retrying with about 1,165 tokens instead of 3,097"
    ]
    assert (result.stop_reason, result.output, result.turns) == ("completed", "fits now", 1)
    model.assert_consumed()


async def test_a_second_context_length_error_ends_the_run_with_a_clear_error() -> None:
    history = earlier_run("a" * 3_500, "b" * 3_500, "c" * 3_500)
    model = ScriptedChatModel([too_long(), too_long()])
    result = await run_agent(model, StaticToolset(), "next", history=history)
    assert result.error is not None
    assert (result.stop_reason, result.error.type, result.error.message) == (
        "error",
        "ContextLengthError",
        "the request does not fit the model's context window: maximum context length exceeded; it still "
        f"did not fit after removing earlier tool results (about 1,165 tokens); {CONTEXT_ADVICE}",
    )
    assert isinstance(result.exception, ContextLengthError)
    model.assert_consumed()


async def test_a_context_length_error_with_nothing_to_remove_ends_the_run_without_a_retry() -> None:
    model = ScriptedChatModel([too_long()])
    result = await run_agent(model, StaticToolset(), "x" * 3_500)
    assert result.error is not None
    assert (result.stop_reason, result.error.message) == (
        "error",
        "the request does not fit the model's context window: maximum context length exceeded; there is "
        f"no earlier tool result left to remove (about 1,004 tokens); {CONTEXT_ADVICE}",
    )
    assert len(model.requests) == 1


async def test_after_a_rejection_later_requests_stay_under_the_learned_limit() -> None:
    tools = StaticToolset().add("read", lambda: "d" * 3_500)
    history = earlier_run("a" * 3_500, "b" * 3_500)
    model = ScriptedChatModel([too_long(), reply(None, call("read", id="r9")), reply("done")])
    events: list[Event] = []
    await run_agent(model, tools, "next", on_event=events.append, history=history)
    # rejected at about 2,210 tokens (2,074 + 136 for the tool definition): later requests stay
    # under 90 % of that (1,989), and a new result gets a quarter of it (497 tokens, 1,739 characters)
    last = model.requests[2].messages
    assert [m.tool_call_id for m in tool_messages(last) if m.content.startswith("[earlier")] == ["r1", "r2"]
    assert [m.content for m in tool_messages(last) if m.tool_call_id == "r9"] == [
        cap_text("d" * 3_500, 1_739)
    ]
    assert len([e for e in events if isinstance(e, Notice)]) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"context_window": 0}, "context_window: must be a positive number of tokens, got 0"),
        ({"reserve_tokens": -1}, "reserve_tokens: must not be negative, got -1"),
        (
            {"max_tool_output_chars": 0},
            "max_tool_output_chars: must be a positive number of characters, got 0",
        ),
    ],
)
def test_context_options_out_of_range_raise_a_config_error_naming_the_option(
    options: dict[str, int], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        RunOptions(**options)  # type: ignore[arg-type]
    assert str(caught.value) == message


async def test_a_cancelled_run_reports_its_partial_result_before_the_cancellation_propagates() -> None:
    started = anyio.Event()

    async def hang() -> str:
        started.set()
        await anyio.sleep_forever()
        return ""

    tools = StaticToolset().add("hang", hang)
    model = ScriptedChatModel([reply("on it", call("hang"))])
    events: list[Event] = []
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                lambda: run_agent(model, tools, "go", RunOptions(tool_timeout=None), on_event=events.append)
            )
            await started.wait()
            tg.cancel_scope.cancel()
    [finished] = [e for e in events if isinstance(e, RunFinished)]
    assert finished.result.stop_reason == "error"
    assert finished.result.error is not None and finished.result.error.type == "Interrupted"
    assert (finished.result.turns, finished.result.output) == (1, "on it")


async def test_text_protocol_runs_tool_calls_written_as_blocks() -> None:
    model = ScriptedChatModel(
        [
            reply('Let me add.\n<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>'),
            reply("It is 3."),
        ]
    )
    result = await run_agent(model, calc_tools(), "1+2?", RunOptions(protocol="text", system="Be brief."))
    assert (result.output, result.tool_protocol, result.stop_reason) == ("It is 3.", "text", "completed")
    assert [(c.tool, c.arguments, c.output) for c in result.tool_calls] == [("add", {"a": 1, "b": 2}, "3")]
    first, second = model.requests
    assert first.tools == [] and second.tools == []
    system = first.messages[0]
    assert system.role == "system" and system.content.startswith("Be brief.")
    assert "<tools>" in system.content and '"name": "add"' in system.content
    assert [m.role for m in second.messages] == ["system", "user", "assistant", "user"]
    assert second.messages[2].content.startswith("Let me add.\n<tool_call>")
    assert '"content": "3"' in second.messages[3].content
    assert second.messages[3].content.startswith("<tool_response>")


async def test_text_protocol_reports_malformed_calls_back_to_the_model() -> None:
    model = ScriptedChatModel(
        [
            reply("<tool_call>{'name': 'add'}</tool_call>"),
            reply('<tool_call>{"name": "add", "arguments": {"a": 2, "b": 2}}</tool_call>'),
            reply("4"),
        ]
    )
    result = await run_agent(model, calc_tools(), "2+2?", RunOptions(protocol="text"))
    assert result.output == "4"
    feedback = model.requests[1].messages[-1]
    assert feedback.role == "user"
    assert feedback.content.startswith("Tool call 1 was not run: ")
    assert [c.output for c in result.tool_calls] == ["4"]


async def test_no_tool_endpoints_switches_the_run_to_the_text_protocol_on_the_spot() -> None:
    from agent.errors import NoToolEndpointsError
    from agent.events import ProtocolSwitched

    refusal = NoToolEndpointsError(
        "no endpoint of x/y supports tool use (404): No endpoints found", model="x/y"
    )
    model = ScriptedChatModel(
        [refusal, reply('<tool_call>{"name": "add", "arguments": {"a": 5, "b": 6}}</tool_call>'), reply("11")]
    )
    events: list[Event] = []
    result = await run_agent(model, calc_tools(), "5+6?", on_event=events.append)
    assert (result.output, result.tool_protocol) == ("11", "text")
    assert [type(e).__name__ for e in events if isinstance(e, ProtocolSwitched)] == ["ProtocolSwitched"]
    native, text, _ = model.requests
    assert native.tools and not text.tools
    assert "<tools>" in text.messages[0].content


async def test_required_tool_choice_in_text_protocol_asks_for_a_call_on_the_first_turn() -> None:
    model = ScriptedChatModel(
        [reply('<tool_call>{"name": "add", "arguments": {"a": 1, "b": 1}}</tool_call>'), reply("2")]
    )
    await run_agent(model, calc_tools(), "go", RunOptions(protocol="text", tool_choice="required"))
    first, second = model.requests
    assert "you must call at least one tool" in first.messages[0].content
    assert "you must call at least one tool" not in second.messages[0].content
    assert first.settings.tool_choice is None


async def test_tool_choice_none_in_text_protocol_offers_no_tools() -> None:
    model = ScriptedChatModel([reply("just text")])
    result = await run_agent(
        model, calc_tools(), "hi", RunOptions(protocol="text", tool_choice="none", system="S")
    )
    assert result.output == "just text"
    [request] = model.requests
    assert [(m.role, m.content) for m in request.messages] == [("system", "S"), ("user", "hi")]


async def test_calls_written_as_text_in_native_mode_are_run_and_the_run_continues_in_text() -> None:
    from agent.events import ProtocolSwitched

    model = ScriptedChatModel(
        [reply('<tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}}</tool_call>'), reply("5")]
    )
    events: list[Event] = []
    result = await run_agent(model, calc_tools(), "2+3?", on_event=events.append)
    assert (result.output, result.tool_protocol) == ("5", "text")
    assert [(c.tool, c.output) for c in result.tool_calls] == [("add", "5")]
    [switch] = [e for e in events if isinstance(e, ProtocolSwitched)]
    assert switch.reason == "the model wrote its tool calls as <tool_call> text"
    assert model.requests[1].tools == []


async def test_tool_call_text_naming_no_known_tool_is_just_an_answer() -> None:
    text = 'Use it like <tool_call>{"name": "rm", "arguments": {}}</tool_call>.'
    model = ScriptedChatModel([reply(text)])
    result = await run_agent(model, calc_tools(), "how do I call tools?")
    assert (result.output, result.tool_protocol, result.tool_calls) == (text, "native", [])


async def test_a_toolset_that_raises_gives_an_error_result_instead_of_ending_the_run() -> None:
    class Broken(StaticToolset):
        async def call(self, server: str, tool: str, arguments: dict[str, object]) -> ToolOutcome:
            raise ValueError("malformed result from the server")

    tools = Broken("s").add("t", lambda: "unused")
    model = ScriptedChatModel([reply(None, call("t")), reply("carried on")])
    result = await run_agent(model, tools, "go")
    assert (result.stop_reason, result.output) == ("completed", "carried on")
    assert result.tool_calls[0].output == "Tool 't' failed: ValueError: malformed result from the server"


# --- tool results with images and audio ---

IMAGE = ImagePart(data="iVBORw0KGgoAAAAN", mime_type="image/png")  # 12 bytes
CLIP = AudioPart(data="UklGRiQAAABXQVZF", mime_type="audio/wav")  # 12 bytes
CHART = ToolOutcome("the chart:\n[image: image/png, 12 bytes]", media=(IMAGE,))
GREETING = ToolOutcome("[audio: audio/wav, 12 bytes]\n[image: image/png, 12 bytes]", media=(CLIP, IMAGE))


async def run_media_tool(outcome: ToolOutcome, options: RunOptions) -> tuple[ToolMessage, str]:
    """Run one call of a tool returning ``outcome``; the tool message the model got, the recorded output."""
    tools = StaticToolset().add("snap", lambda: outcome)
    model = ScriptedChatModel([reply(None, call("snap", id="s1")), reply("seen")])
    result = await run_agent(model, tools, "look", options)
    [message] = tool_messages(model.requests[1].messages)
    return message, result.tool_calls[0].output


MEDIA_RUNS = [
    (
        "a model that takes images gets the image with the text",
        CHART,
        RunOptions(image_input=True),
        ToolMessage(tool_call_id="s1", name="snap", content=CHART.text, media=(IMAGE,)),
    ),
    (
        "a model without image input gets the description only",
        CHART,
        RunOptions(),
        ToolMessage(tool_call_id="s1", name="snap", content=CHART.text),
    ),
    (
        "a model that takes audio but not images gets only the clip",
        GREETING,
        RunOptions(audio_input=True),
        ToolMessage(tool_call_id="s1", name="snap", content=GREETING.text, media=(CLIP,)),
    ),
    (
        "an image over what the cap leaves is left out with a notice",
        ToolOutcome("x" * 965 + "\n[image: image/png, 12 bytes]", media=(IMAGE,)),
        RunOptions(image_input=True, max_tool_output_chars=1_000),
        ToolMessage(
            tool_call_id="s1",
            name="snap",
            content=("x" * 965)
            + "\n[image: image/png, 12 bytes]\n[image left out: image/png, 12 bytes, more than the 6 left "
            "of the 1,000-character limit of one tool result]",
        ),
    ),
    (
        "an image within the cap counts by its bytes and stays",
        CHART,
        RunOptions(image_input=True, max_tool_output_chars=len(CHART.text) + 12),
        ToolMessage(tool_call_id="s1", name="snap", content=CHART.text, media=(IMAGE,)),
    ),
]


@pytest.mark.parametrize(
    ("outcome", "options", "expected"), [c[1:] for c in MEDIA_RUNS], ids=[c[0] for c in MEDIA_RUNS]
)
async def test_tool_result_media_reaches_only_models_that_take_it_within_the_cap(
    outcome: ToolOutcome, options: RunOptions, expected: ToolMessage
) -> None:
    message, output = await run_media_tool(outcome, options)
    assert message == expected
    assert output == expected.content


async def test_a_text_only_result_keeps_the_plain_tool_message() -> None:
    message, output = await run_media_tool(ToolOutcome("just text"), RunOptions(image_input=True))
    assert message == ToolMessage(tool_call_id="s1", name="snap", content="just text")
    assert output == "just text"


async def test_text_protocol_results_carry_their_images_in_the_results_message() -> None:
    tools = StaticToolset().add("snap", lambda: CHART)
    model = ScriptedChatModel(
        [reply('<tool_call>{"name": "snap", "arguments": {}}</tool_call>'), reply("a chart")]
    )
    await run_agent(model, tools, "look", RunOptions(protocol="text", image_input=True))
    results = model.requests[1].messages[-1]
    assert isinstance(results, UserMessage)
    assert results.media == (IMAGE,)
    blocks, note = results.content.rsplit("\n", 1)
    assert (
        blocks.startswith("<tool_response>")
        and '"content": "the chart:\\n[image: image/png, 12 bytes]"' in blocks
    )
    assert note.startswith("[1 image of the result of ") and note.endswith(" (snap) is attached below]")


async def test_compacting_an_earlier_result_drops_its_media_too() -> None:
    history = earlier_run("a" * 3_500, "b" * 3_500)
    history[3] = history[3].model_copy(update={"media": (IMAGE,)})
    model = ScriptedChatModel([reply("ok")])
    options = RunOptions(context_window=2_500, reserve_tokens=500, image_input=True)
    await run_agent(model, StaticToolset(), "next", options, history=history)
    expected = [*without_results(earlier_run("a" * 3_500, "b" * 3_500), "r1"), UserMessage(content="next")]
    assert model.requests[0].messages == expected


BOOKING_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {"Slot": {"type": "string", "format": "date-time"}},
    "properties": {
        "kind": {"const": "table"},
        "at": {"$ref": "#/$defs/Slot"},
        "note": {"type": ["string", "null"]},
    },
    "required": ["kind", "at"],
    "additionalProperties": False,
}


def booking_tools() -> StaticToolset:
    return StaticToolset("venue").add("book", lambda **args: "booked", schema=BOOKING_SCHEMA)


@pytest.mark.parametrize(
    ("profile", "parameters"),
    [
        (
            "full",
            {
                "type": "object",
                "$defs": {"Slot": {"type": "string", "format": "date-time"}},
                "properties": {
                    "kind": {"const": "table"},
                    "at": {"$ref": "#/$defs/Slot"},
                    "note": {"type": ["string", "null"]},
                },
                "required": ["kind", "at"],
                "additionalProperties": False,
            },
        ),
        (
            "gemini",
            {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": ["table"]},
                    "at": {"type": "string", "format": "date-time"},
                    "note": {"type": "string", "nullable": True},
                },
                "required": ["kind", "at"],
            },
        ),
    ],
)
async def test_the_model_is_shown_tool_schemas_shaped_for_its_schema_profile(
    profile: SchemaProfile, parameters: dict[str, Any]
) -> None:
    model = ScriptedChatModel([reply("ok")])
    await run_agent(model, booking_tools(), "book", RunOptions(tool_schema_profile=profile))
    assert [(t.name, t.parameters) for t in model.requests[0].tools] == [("book", parameters)]


async def test_arguments_are_checked_against_the_servers_schema_not_the_shaped_one() -> None:
    extra = {"kind": "table", "at": "2026-05-01T19:00:00Z", "guests": 4}  # Gemini was not told "no extras"
    wrong_const = {"kind": "sofa", "at": "2026-05-01T19:00:00Z"}
    model = ScriptedChatModel(
        [reply(None, call("book", extra, id="b1"), call("book", wrong_const, id="b2")), reply("sorry")]
    )
    result = await run_agent(model, booking_tools(), "book", RunOptions(tool_schema_profile="gemini"))
    assert [(c.id, c.is_error, c.output.split(". The schema is:")[0]) for c in result.tool_calls] == [
        (
            "b1",
            True,
            "Invalid arguments for tool 'book': "
            "Additional properties are not allowed ('guests' was unexpected)",
        ),
        ("b2", True, "Invalid arguments for tool 'book': 'table' was expected at 'kind'"),
    ]


async def test_schemas_are_shaped_once_per_tool_list_and_profile_not_per_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import agent.loop

    shaped: list[str] = []

    def counting(schema: object, profile: SchemaProfile = "full") -> dict[str, Any]:
        shaped.append(profile)
        return model_parameters(schema, profile)

    monkeypatch.setattr(agent.loop, "model_parameters", counting)
    tools = booking_tools()
    profiles: tuple[SchemaProfile, ...] = ("gemini", "gemini", "full", "gemini")
    for profile in profiles:
        model = ScriptedChatModel([reply(None, call("book", {"kind": "table", "at": "now"})), reply("done")])
        await run_agent(model, tools, "book", RunOptions(tool_schema_profile=profile))
    assert shaped == ["gemini", "full"]


def test_an_unknown_tool_schema_profile_is_a_config_error_naming_the_option() -> None:
    with pytest.raises(ConfigError) as caught:
        RunOptions(tool_schema_profile="openapi")  # type: ignore[arg-type]
    assert str(caught.value) == "tool_schema_profile: must be one of full, gemini, got 'openapi'"
