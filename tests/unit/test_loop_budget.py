"""The loop under a budget: stop before a request that could cross it, ask for fewer tokens, say why."""

from __future__ import annotations

from typing import Any

import pytest

from agent.budget import Price
from agent.events import CURRENT_CALL, Event, ModelResponded, Notice
from agent.loop import RunOptions, run_agent
from agent.messages import AssistantMessage, ModelResponse, Usage
from agent.testing import ScriptedChatModel, StaticToolset, call, reply

pytestmark = pytest.mark.anyio

PRICES = {"scripted/model": Price(prompt=0.000001, completion=0.000002)}
"""$1 per million prompt tokens, $2 per million completion tokens."""


def usage(prompt: int, completion: int, cost: float | None = None) -> Usage:
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion, cost=cost
    )


def echo_tools() -> StaticToolset:
    return StaticToolset("t").add("echo", lambda: "ok")


def notices(events: list[Event]) -> list[str]:
    return [e.message for e in events if isinstance(e, Notice)]


async def test_a_token_limit_stops_the_run_before_a_request_that_could_cross_it() -> None:
    model = ScriptedChatModel([reply(None, call("echo"), usage=usage(150, 50)), reply("never sent")])
    events: list[Event] = []
    result = await run_agent(
        model,
        echo_tools(),
        "go",
        RunOptions(max_total_tokens=250, max_output_tokens=4096),
        on_event=events.append,
    )
    assert (result.stop_reason, result.turns, len(model.requests)) == ("max_tokens", 1, 1)
    asked = model.requests[0].settings.max_tokens
    assert asked is not None and 16 <= asked < 250  # what the limit left after the prompt
    assert result.usage == usage(150, 50)
    [stopped] = [n for n in notices(events) if n.startswith("stopped")]
    assert stopped.startswith("stopped before turn 2: the next request needs about ")
    assert stopped.endswith("50 of the run's 250 tokens are left (--max-tokens)")


async def test_a_request_the_budget_covers_in_full_asks_for_no_fewer_tokens() -> None:
    model = ScriptedChatModel([reply("done", usage=usage(100, 10, cost=0.0001))])
    result = await run_agent(
        model,
        StaticToolset(),
        "hi",
        RunOptions(max_cost=1.0, max_total_tokens=100_000, max_output_tokens=4096, prices=PRICES),
    )
    assert result.stop_reason == "completed"
    assert model.requests[0].settings.max_tokens is None


async def test_a_cost_limit_asks_for_only_the_tokens_it_can_pay_for() -> None:
    model = ScriptedChatModel([reply("done", usage=usage(100, 10))])
    result = await run_agent(
        model, StaticToolset(), "hi", RunOptions(max_cost=0.001, max_output_tokens=4096, prices=PRICES)
    )
    assert result.stop_reason == "completed"
    asked = model.requests[0].settings.max_tokens
    assert asked is not None and 400 < asked < 500  # ($0.001 - the prompt's cost) / $2 per million


async def test_an_answer_cut_at_what_the_budget_left_stops_the_run_at_the_limit() -> None:
    cut = ModelResponse(
        message=AssistantMessage(content="The answer beg"), usage=usage(100, 450), finish_reason="length"
    )
    events: list[Event] = []
    result = await run_agent(
        ScriptedChatModel([cut]),
        StaticToolset(),
        "hi",
        RunOptions(max_cost=0.001, max_output_tokens=4096, prices=PRICES),
        on_event=events.append,
    )
    assert (result.stop_reason, result.output) == ("max_cost", "The answer beg")
    assert any(
        n.startswith("the answer was cut off at the ") and n.endswith("(--max-cost)") for n in notices(events)
    )


async def test_cost_is_estimated_from_prices_when_the_response_reports_none() -> None:
    model = ScriptedChatModel(
        [reply(None, call("echo"), usage=usage(1000, 500)), reply("ok", usage=usage(10, 5, 0.5))]
    )
    events: list[Event] = []
    result = await run_agent(model, echo_tools(), "go", RunOptions(prices=PRICES), on_event=events.append)
    first = next(e for e in events if isinstance(e, ModelResponded))
    assert (first.usage.cost, first.usage.cost_source) == (pytest.approx(0.002), "estimated")
    assert result.usage.cost == pytest.approx(0.502)
    assert result.usage.cost_source == "mixed"
    assert list(result.usage_by_model) == ["scripted/model"]
    assert result.usage_by_model["scripted/model"].total_tokens == 1515


async def test_an_unknown_price_is_said_once_and_the_budget_checked_after_each_response() -> None:
    model = ScriptedChatModel(
        [reply(None, call("echo"), usage=usage(10, 5, 0.006)) for _ in range(2)] + [reply("never sent")]
    )
    events: list[Event] = []
    result = await run_agent(model, echo_tools(), "go", RunOptions(max_cost=0.01), on_event=events.append)
    assert (result.stop_reason, len(model.requests)) == ("max_cost", 2)
    said = notices(events)
    assert (
        said.count(
            "the price of scripted/model is unknown: --max-cost is checked after each response, "
            "so the run may go over it by one request"
        )
        == 1
    )
    assert "stopped at $0.0120: the budget of $0.01 is spent (--max-cost)" in said


async def test_a_completion_sampled_during_a_tool_call_counts_toward_the_run() -> None:
    def sampling_tool() -> str:
        scope = CURRENT_CALL.get()
        assert scope is not None and scope.spending is not None
        scope.spending.add("sampler/model", usage(40, 10, 0.25))
        return "sampled"

    tools: Any = StaticToolset("t").add("summarise", sampling_tool)
    model = ScriptedChatModel(
        [reply(None, call("summarise"), usage=usage(10, 5, 0.5)), reply("ok", usage=usage(20, 5, 0.5))]
    )
    result = await run_agent(model, tools, "go")
    assert result.usage == usage(70, 20, 1.25)
    assert result.usage_by_model == {
        "scripted/model": usage(30, 10, 1.0),
        "sampler/model": usage(40, 10, 0.25),
    }
