"""Retries, fallbacks and clear errors through the real HTTP client and the loopback OpenRouter.

Every request crosses 127.0.0.1 to :class:`tests.loopback.ScriptedOpenRouter`; waiting between
retries goes through an injected sleep that records the delays, so nothing really waits.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from agent.errors import (
    AuthenticationError,
    InsufficientCreditsError,
    ModelNotFoundError,
    NoToolEndpointsError,
    PermissionDeniedError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
)
from agent.events import Event, FallingBack, Retrying, TextDelta
from agent.loop import RunOptions, run_agent
from agent.messages import ModelResponse, RequestSettings, UserMessage
from agent.providers import FallbackChatModel, build_chat_model, create_http_client
from agent.run_context import RunContext
from agent.testing import StaticToolset
from tests.loopback import (
    Route,
    ScriptedOpenRouter,
    call,
    drop,
    error,
    error_chunk,
    last_tool_result,
    reply,
)

pytestmark = pytest.mark.anyio

KEY = "sk-or-v1-" + "5" * 64
MODEL = "acme/model-1"
BACKUP = "acme/backup-2"
HISTORY = [UserMessage(content="hi")]
PLAIN = RequestSettings()
STREAM = RequestSettings(stream=True)
NO_TOOLS = (
    "No endpoints found that support tool use. To learn more about provider routing, visit: "
    "https://openrouter.ai/docs/provider-routing"
)


class Sleeps:
    """An injected sleep that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@dataclass
class Harness:
    model: FallbackChatModel
    events: list[Event] = field(default_factory=list)
    sleeps: Sleeps = field(default_factory=Sleeps)
    run: RunContext = field(default_factory=RunContext)

    async def complete(self, *args: Any, **kwargs: Any) -> ModelResponse:
        """One request of this harness's run (its events go to ``events``)."""
        return await self.model.complete(*args, run=self.run, **kwargs)

    def reliability_events(self) -> list[Event]:
        return [e for e in self.events if isinstance(e, Retrying | FallingBack)]


@asynccontextmanager
async def chain(
    server: ScriptedOpenRouter,
    model: str = MODEL,
    fallbacks: Sequence[str] = (),
    *,
    provider: str = "openrouter",
    max_retries: int = 2,
) -> AsyncIterator[Harness]:
    """The model a run would get from the CLI, pointed at the loopback server (jitter fixed at 0.75)."""
    events: list[Event] = []
    sleeps = Sleeps()
    async with create_http_client(5.0) as http:
        built = build_chat_model(
            client=http,
            provider_name=provider,
            base_url=server.base_url,
            api_key=KEY,
            model=model,
            fallbacks=fallbacks,
            max_retries=max_retries,
            sleep=sleeps,
            rng=lambda: 0.5,
        )
        yield Harness(built, events, sleeps, RunContext(on_event=events.append))


def texts(deltas: list[tuple[str, str]]) -> str:
    return "".join(text for kind, text in deltas if kind == "text")


# -- retries -----------------------------------------------------------------------------------


async def test_rate_limit_with_retry_after_zero_is_retried_at_once_and_then_answers() -> None:
    limited = error(429, "Rate limit exceeded: free-models-per-min", retry_after=0)
    with ScriptedOpenRouter(limited, reply("done"), api_key=KEY) as server:
        async with chain(server) as h:
            response = await h.complete(HISTORY, [], PLAIN)

    assert (response.message.content, response.model) == ("done", MODEL)
    assert h.reliability_events() == [
        Retrying(
            model=MODEL,
            attempt=1,
            delay=0.0,
            error="rate limited (429): Rate limit exceeded: free-models-per-min",
            discarded_partial=False,
        )
    ]
    assert h.sleeps.delays == [0.0]
    first, second = server.chat_bodies
    assert first == second
    assert "models" not in first
    server.assert_clean()


async def test_service_unavailable_twice_is_retried_with_growing_backoff() -> None:
    down = error(503, "No instances available")
    with ScriptedOpenRouter(down, down, reply("back again"), api_key=KEY) as server:
        async with chain(server) as h:
            response = await h.complete(HISTORY, [], PLAIN)

    assert response.message.content == "back again"
    message = "the provider is unavailable (503): No instances available"
    assert h.reliability_events() == [
        Retrying(model=MODEL, attempt=1, delay=0.375, error=message),
        Retrying(model=MODEL, attempt=2, delay=0.75, error=message),
    ]
    assert h.sleeps.delays == [0.375, 0.75]
    assert (h.run.models_tried, h.run.answered_by) == ([MODEL], MODEL)
    server.assert_clean()


async def test_error_chunk_mid_stream_is_retried_and_its_partial_text_never_reaches_the_history() -> None:
    tools = StaticToolset("calc").add(
        "add",
        lambda a, b: str(a + b),
        schema={"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
    )
    steps = [
        error_chunk(reply("I will look it up")),
        reply(None, call("add", {"a": 1, "b": 2})),
        lambda request: reply(f"The sum is {last_tool_result(request)}"),
    ]
    with ScriptedOpenRouter(*steps, api_key=KEY) as server:
        async with chain(server) as h:
            result = await run_agent(
                h.model, tools, "add 1 and 2", RunOptions(stream=True), on_event=h.events.append
            )

    assert (result.output, result.stop_reason, result.error) == ("The sum is 3", "completed", None)
    assert h.reliability_events() == [
        Retrying(
            model=MODEL,
            attempt=1,
            delay=0.375,
            error="the provider is unavailable (502): Provider disconnected",
            discarded_partial=True,
        )
    ]
    shown = "".join(e.text for e in h.events if isinstance(e, TextDelta))
    assert shown == "I will look it upThe sum is 3"
    failed, retried, after_tool = server.chat_bodies
    assert failed["messages"] == retried["messages"]
    assert [m["role"] for m in after_tool["messages"]] == ["user", "assistant", "tool"]
    assert after_tool["messages"][1]["content"] is None
    assert "I will look it up" not in json.dumps(after_tool)
    server.assert_clean()


async def test_dropped_stream_is_retried_and_only_the_complete_answer_is_returned() -> None:
    with ScriptedOpenRouter(drop(reply("Hal")), reply("Hello"), api_key=KEY) as server:
        url = f"{server.base_url}/chat/completions"
        async with chain(server) as h:
            deltas: list[tuple[str, str]] = []
            response = await h.complete(HISTORY, [], STREAM, lambda k, t: deltas.append((k, t)))

    assert response.message.content == "Hello"
    assert texts(deltas) == "HalHello"
    [event] = h.reliability_events()
    assert isinstance(event, Retrying)
    assert event.model_copy(update={"error": ""}) == Retrying(
        model=MODEL, attempt=1, delay=0.375, error="", discarded_partial=True
    )
    assert event.error.startswith(f"the connection to {url} was lost")
    server.assert_clean()


async def test_non_streamed_error_finish_with_partial_content_is_retried_and_discarded() -> None:
    with ScriptedOpenRouter(
        error_chunk(reply("half an ans")), reply("a whole answer"), api_key=KEY
    ) as server:
        async with chain(server) as h:
            response = await h.complete(HISTORY, [], PLAIN)

    assert response.message.content == "a whole answer"
    assert h.reliability_events() == [
        Retrying(
            model=MODEL,
            attempt=1,
            delay=0.375,
            error="the provider is unavailable (502): Provider disconnected",
            discarded_partial=False,
        )
    ]
    server.assert_clean()


REFUSED = [
    (
        "401",
        error(401, "User not found."),
        AuthenticationError,
        "the API key was refused (401): User not found. "
        "Check the API key configured for the provider (e.g. OPENROUTER_API_KEY).",
    ),
    (
        "402",
        error(402, "Insufficient credits"),
        InsufficientCreditsError,
        "not enough credits for this request (402): Insufficient credits. Add credits at "
        "https://openrouter.ai/settings/credits, ask for fewer max_tokens, or use a free model "
        "(an id ending in :free).",
    ),
    (
        "403",
        error(403, "Input was flagged", metadata={"reasons": ["harassment"], "flagged_input": "you are ..."}),
        PermissionDeniedError,
        "the request was refused (403): Input was flagged (reasons: harassment). Moderation flagged the "
        'input; rephrase it or use another model. Flagged input: "you are ...".',
    ),
]


@pytest.mark.parametrize(("step", "kind", "message"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
async def test_auth_credit_and_moderation_refusals_are_neither_retried_nor_handed_on(
    step: object, kind: type[ProviderError], message: str
) -> None:
    script = {MODEL: [step], BACKUP: [reply("never asked")]}
    with ScriptedOpenRouter(models=script, api_key=KEY) as server:
        async with chain(server, fallbacks=[BACKUP], provider="local") as h:
            with pytest.raises(kind) as raised:
                await h.complete(HISTORY, [], PLAIN)

    assert str(raised.value) == message
    assert h.reliability_events() == []
    assert h.sleeps.delays == []
    assert [b["model"] for b in server.chat_bodies] == [MODEL]
    assert server.remaining() == {BACKUP: 1}
    assert h.run.models_tried == [MODEL]


async def test_no_tool_endpoints_404_is_not_retried_and_says_which_models_can() -> None:
    with ScriptedOpenRouter(error(404, NO_TOOLS), api_key=KEY) as server:
        async with chain(server) as h:
            with pytest.raises(NoToolEndpointsError) as raised:
                await h.complete(HISTORY, [], PLAIN)

    assert str(raised.value) == (
        f"no endpoint of {MODEL} supports tool use (404): {NO_TOOLS}. "
        "Choose a model that supports tool calling (see `agent models --tools`)."
    )
    assert (h.reliability_events(), len(server.chat_bodies)) == ([], 1)
    server.assert_clean()


async def test_no_tool_endpoints_404_hands_the_turn_to_a_fallback_without_retrying() -> None:
    script = {MODEL: [error(404, NO_TOOLS)], BACKUP: [reply("I can use tools")]}
    with ScriptedOpenRouter(models=script, api_key=KEY) as server:
        async with chain(server, fallbacks=[BACKUP], provider="local") as h:
            response = await h.complete(HISTORY, [], PLAIN)

    assert (response.message.content, response.model) == ("I can use tools", BACKUP)
    assert h.reliability_events() == [
        FallingBack(
            from_model=MODEL,
            to_model=BACKUP,
            error=f"no endpoint of {MODEL} supports tool use (404): {NO_TOOLS}",
        )
    ]
    server.assert_clean()


async def test_unknown_model_id_is_not_retried_and_suggests_a_search() -> None:
    with ScriptedOpenRouter(error(400, f"{MODEL} is not a valid model ID"), api_key=KEY) as server:
        async with chain(server) as h:
            with pytest.raises(ModelNotFoundError) as raised:
                await h.complete(HISTORY, [], PLAIN)

    assert str(raised.value) == (
        f"model {MODEL} is not available (400): {MODEL} is not a valid model ID. The model id '{MODEL}' "
        "was not found or has no available endpoint; look it up with `agent models --search model-1`."
    )
    assert len(server.chat_bodies) == 1


async def test_daily_free_model_cap_is_not_waited_out_and_the_error_tells_the_limit() -> None:
    free = "acme/model-1:free"
    headers = {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "4102444800000"}
    capped = error(429, "Rate limit exceeded: free-models-per-day", headers=headers)
    with ScriptedOpenRouter(capped, api_key=KEY) as server:
        async with chain(server, free) as h:
            with pytest.raises(RateLimitError) as raised:
                await h.complete(HISTORY, [], PLAIN)

    message = str(raised.value)
    assert message.startswith(
        "rate limited (429): Rate limit exceeded: free-models-per-day. "
        "Rate limit (limit 50 requests, 0 remaining); it resets at 2100-01-01 00:00 UTC (in "
    )
    assert message.endswith(
        "free models (ids ending in :free) allow 20 requests a minute and 50 a day "
        "(1000 a day once 10 credits were bought)."
    )
    assert (h.reliability_events(), h.sleeps.delays, len(server.chat_bodies)) == ([], [], 1)


# -- fallback ----------------------------------------------------------------------------------


async def test_primary_down_after_retries_falls_back_and_models_tried_is_truthful() -> None:
    down = error(503, "No instances available")
    script = {MODEL: [down, down, down], BACKUP: [reply("from the backup")]}
    with ScriptedOpenRouter(models=script, api_key=KEY) as server:
        async with chain(server, fallbacks=[BACKUP], provider="local") as h:
            response = await h.complete(HISTORY, [], PLAIN)

    message = "the provider is unavailable (503): No instances available"
    assert (response.message.content, response.model) == ("from the backup", BACKUP)
    assert h.reliability_events() == [
        Retrying(model=MODEL, attempt=1, delay=0.375, error=message),
        Retrying(model=MODEL, attempt=2, delay=0.75, error=message),
        FallingBack(from_model=MODEL, to_model=BACKUP, error=message),
    ]
    assert (h.run.models_tried, h.run.answered_by) == ([MODEL, BACKUP], BACKUP)
    assert [b["model"] for b in server.chat_bodies] == [MODEL, MODEL, MODEL, BACKUP]
    assert all("models" not in b for b in server.chat_bodies)
    server.assert_clean()


async def test_exhausted_single_model_error_suggests_a_fallback() -> None:
    down = error(503, "No instances available")
    with ScriptedOpenRouter(down, down, down, api_key=KEY) as server:
        async with chain(server) as h:
            with pytest.raises(ProviderUnavailableError) as raised:
                await h.complete(HISTORY, [], PLAIN)

    assert str(raised.value) == (
        "the provider is unavailable (503): No instances available. "
        "The model is temporarily unavailable; try again later or add a fallback with --fallback MODEL."
    )
    assert (len(server.chat_bodies), h.run.models_tried) == (3, [MODEL])
    server.assert_clean()


async def test_openrouter_chain_is_sent_as_a_models_array_and_the_server_routes_it() -> None:
    script = {MODEL: [error(503, "No instances available")], BACKUP: [reply("routed to the backup")]}
    with ScriptedOpenRouter(models=script, api_key=KEY) as server:
        async with chain(server, fallbacks=[BACKUP]) as h:
            deltas: list[tuple[str, str]] = []
            response = await h.complete(HISTORY, [], STREAM, lambda k, t: deltas.append((k, t)))

    assert (response.message.content, response.model) == ("routed to the backup", BACKUP)
    assert texts(deltas) == "routed to the backup"
    [body] = server.chat_bodies
    assert (body["model"], body["models"]) == (MODEL, [MODEL, BACKUP])
    assert server.routes == [Route(0, (MODEL, BACKUP), (MODEL, BACKUP), BACKUP)]
    assert h.reliability_events() == []
    assert (h.run.models_tried, h.run.answered_by) == ([MODEL, BACKUP], BACKUP)
    server.assert_clean()


async def test_chain_of_five_is_split_into_groups_of_three_and_two() -> None:
    a, b, c, d, e = (f"acme/m{n}" for n in range(1, 6))
    down = error(503, "No instances available")
    script = {a: [down], b: [down], c: [down], d: [reply("the fourth answers")], e: []}
    with ScriptedOpenRouter(models=script, api_key=KEY) as server:
        async with chain(server, a, [b, c, d, e], max_retries=0) as h:
            response = await h.complete(HISTORY, [], PLAIN)

    assert (response.message.content, response.model) == ("the fourth answers", d)
    assert [(body["model"], body["models"]) for body in server.chat_bodies] == [(a, [a, b, c]), (d, [d, e])]
    assert server.routes == [Route(0, (a, b, c), (a, b, c), None), Route(1, (d, e), (d,), d)]
    assert h.reliability_events() == [
        FallingBack(
            from_model=f"{a}, {b}, {c}",
            to_model=d,
            error="the provider is unavailable (503): No instances available",
        )
    ]
    assert (h.run.models_tried, h.run.answered_by) == ([a, b, c, d], d)
    server.assert_clean()


async def test_loopback_server_rejects_a_models_array_longer_than_three_like_openrouter() -> None:
    body = {
        "model": "a/1",
        "models": ["a/1", "a/2", "a/3", "a/4"],
        "messages": [{"role": "user", "content": "x"}],
    }
    with ScriptedOpenRouter() as server:
        async with httpx.AsyncClient() as http:
            response = await http.post(f"{server.base_url}/chat/completions", json=body)

    assert (response.status_code, response.json()) == (
        400,
        {"error": {"code": 400, "message": "'models' array must have 3 items or fewer."}},
    )
