"""RetryingChatModel over a scripted inner model, with an injected sleep (no real waiting)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from agent.errors import ProviderConnectionError, ProviderError
from agent.events import Event, Retrying
from agent.messages import Message, ModelResponse, RequestSettings, ToolSpec, UserMessage
from agent.providers import RetryingChatModel
from agent.providers.base import DeltaCallback
from agent.providers.http_errors import classify, error_from_body
from agent.run_context import RunContext
from agent.testing import ScriptedChatModel, reply

pytestmark = pytest.mark.anyio

MODEL = "scripted/model"
HISTORY: list[Message] = [UserMessage(content="hi")]
STREAM = RequestSettings(stream=True)


def http(status: int, message: str = "Provider returned error", **options: Any) -> ProviderError:
    return classify(status, message, model=MODEL, secret=None, **options)


class Sleeps:
    """An injected sleep that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class RunOfRetrying:
    """A retrying model used by one run: requests carry a context whose events go to ``events``."""

    def __init__(self, model: RetryingChatModel, events: list[Event]) -> None:
        self.model = model
        self.run = RunContext(on_event=events.append)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    async def complete(
        self,
        messages: Sequence[Message],
        tools: list[ToolSpec],
        settings: RequestSettings,
        on_delta: DeltaCallback | None = None,
    ) -> ModelResponse:
        return await self.model.complete(messages, tools, settings, on_delta, run=self.run)


def retrying(
    inner: ScriptedChatModel | PartialThenFail, max_retries: int = 2
) -> tuple[RunOfRetrying, list[Event], Sleeps]:
    events: list[Event] = []
    sleeps = Sleeps()
    model = RetryingChatModel(inner, max_retries=max_retries, sleep=sleeps, rng=lambda: 0.5)
    return RunOfRetrying(model, events), events, sleeps


async def test_transient_failures_are_retried_with_backoff_and_announced() -> None:
    unavailable = http(503, "No instances available")
    dropped = ProviderConnectionError("the connection to http://x was lost", model=MODEL)
    inner = ScriptedChatModel([unavailable, dropped, reply("ok")])
    model, events, sleeps = retrying(inner)

    response = await model.complete(HISTORY, [], RequestSettings())

    assert response == reply("ok")
    assert events == [
        Retrying(model=MODEL, attempt=1, delay=0.375, error=str(unavailable), discarded_partial=False),
        Retrying(model=MODEL, attempt=2, delay=0.75, error=str(dropped), discarded_partial=False),
    ]
    assert sleeps.delays == [0.375, 0.75]
    assert [r.messages for r in inner.requests] == [HISTORY, HISTORY, HISTORY]
    inner.assert_consumed()


async def test_the_last_failure_is_raised_once_retries_run_out() -> None:
    failures = [http(502), http(502), http(502, "still down")]
    inner = ScriptedChatModel(list(failures))
    model, events, sleeps = retrying(inner, max_retries=2)

    with pytest.raises(ProviderError) as raised:
        await model.complete(HISTORY, [], RequestSettings())

    assert raised.value is failures[2]
    assert [(e.attempt, e.delay) for e in events if isinstance(e, Retrying)] == [(1, 0.375), (2, 0.75)]
    assert sleeps.delays == [0.375, 0.75]
    inner.assert_consumed()


@pytest.mark.parametrize(
    "error",
    [
        http(401, "User not found."),
        http(402, "Insufficient credits"),
        http(403, "Input was flagged"),
        http(404, "No endpoints found that support tool use."),
        http(400, "This endpoint's maximum context length is 8192 tokens"),
        http(400, "Invalid request"),
    ],
    ids=["401", "402", "403", "404 no tool endpoints", "context length", "400"],
)
async def test_errors_the_same_request_would_meet_again_are_raised_at_once(error: ProviderError) -> None:
    inner = ScriptedChatModel([error])
    model, events, sleeps = retrying(inner)

    with pytest.raises(ProviderError) as raised:
        await model.complete(HISTORY, [], RequestSettings())

    assert (raised.value, events, sleeps.delays) == (error, [], [])
    inner.assert_consumed()


async def test_retry_after_is_waited_exactly_and_a_daily_cap_is_not_waited_at_all() -> None:
    inner = ScriptedChatModel(
        [
            http(429, "Rate limit exceeded: free-models-per-min", retry_after=4.0),
            http(429, "Rate limit exceeded: free-models-per-day", retry_after=4.0),
        ]
    )
    model, events, sleeps = retrying(inner)

    with pytest.raises(ProviderError, match="free-models-per-day"):
        await model.complete(HISTORY, [], RequestSettings())

    assert [(e.attempt, e.delay) for e in events if isinstance(e, Retrying)] == [(1, 4.0)]
    assert sleeps.delays == [4.0]


class PartialThenFail:
    """Streams ``partial`` and then fails with ``error``, once; afterwards streams and returns ``text``."""

    model_name = MODEL

    def __init__(self, partial: str, error: ProviderError, text: str) -> None:
        self.partial, self.error, self.text = partial, error, text
        self.calls = 0

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        settings: RequestSettings,
        on_delta: DeltaCallback | None = None,
        *,
        run: RunContext | None = None,
    ) -> ModelResponse:
        self.calls += 1
        assert on_delta is not None
        if self.calls == 1:
            on_delta("text", self.partial)
            raise self.error
        on_delta("text", self.text)
        return reply(self.text)


async def test_streamed_text_of_a_failed_attempt_is_flagged_and_never_returned() -> None:
    chunk_error = error_from_body(
        {"code": 502, "message": "Provider disconnected", "metadata": {"error_type": "provider_unavailable"}},
        status=None,
        model=MODEL,
        secret=None,
    )
    inner = PartialThenFail("Hel", chunk_error, "Hello there")
    model, events, _ = retrying(inner)
    shown: list[tuple[str, str]] = []

    response = await model.complete(HISTORY, [], STREAM, lambda kind, text: shown.append((kind, text)))

    assert response == reply("Hello there")
    assert shown == [("text", "Hel"), ("text", "Hello there")]
    assert events == [
        Retrying(model=MODEL, attempt=1, delay=0.375, error=str(chunk_error), discarded_partial=True)
    ]


async def test_without_a_delta_callback_the_inner_model_gets_none() -> None:
    inner = ScriptedChatModel([reply("fine")])
    model, _, _ = retrying(inner)

    await model.complete(HISTORY, [], STREAM, None)

    assert inner.requests[0].settings == STREAM


async def test_wrapper_names_the_inner_model_and_its_route() -> None:
    model, _, _ = retrying(ScriptedChatModel([], name="acme/primary"))
    assert (model.model_name, model.route_models) == ("acme/primary", ("acme/primary",))


def test_negative_max_retries_is_refused() -> None:
    with pytest.raises(ValueError, match="max_retries must not be negative, got -1"):
        RetryingChatModel(ScriptedChatModel([]), max_retries=-1)


async def test_an_error_that_is_not_a_provider_error_passes_through_unretried() -> None:
    inner = ScriptedChatModel([RuntimeError("bug")])
    model, events, _ = retrying(inner)

    with pytest.raises(RuntimeError, match="bug"):
        await model.complete(HISTORY, [], RequestSettings())
    assert events == []
