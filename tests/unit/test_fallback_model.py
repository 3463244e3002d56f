"""FallbackChatModel over scripted models: who gets the turn, who is told, who answered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from agent.errors import BadResponseError, ProviderConnectionError, ProviderError
from agent.events import Event, FallingBack
from agent.messages import AssistantMessage, Message, ModelResponse, RequestSettings, ToolSpec, UserMessage
from agent.providers import FallbackChatModel
from agent.providers.fallback_model import answered_route
from agent.providers.http_errors import classify
from agent.run_context import RunContext
from agent.testing import ScriptedChatModel

pytestmark = pytest.mark.anyio

PRIMARY = "acme/primary"
BACKUP = "acme/backup"
HISTORY = [UserMessage(content="hi")]


def http(status: int, message: str = "Provider returned error", **options: Any) -> ProviderError:
    return classify(status, message, model=PRIMARY, secret=None, **options)


def answer(text: str, model: str | None) -> ModelResponse:
    return ModelResponse(message=AssistantMessage(content=text), finish_reason="stop", model=model)


@dataclass
class RoutedScriptedModel(ScriptedChatModel):
    """A scripted model that claims to route each request over several models, like a group."""

    route: tuple[str, ...] = ()

    @property
    def route_models(self) -> Sequence[str]:
        return self.route


class RunOfChain:
    """A fallback chain used by one run at a time: requests carry the run's context."""

    def __init__(self, model: FallbackChatModel, events: list[Event]) -> None:
        self.model = model
        self.events = events
        self.run = RunContext(on_event=events.append)

    @property
    def model_name(self) -> str:
        return self.model.model_name

    async def complete(
        self, messages: Sequence[Message], tools: list[ToolSpec], settings: RequestSettings
    ) -> ModelResponse:
        return await self.model.complete(messages, tools, settings, run=self.run)

    @property
    def models_tried(self) -> list[str]:
        return self.run.models_tried

    @property
    def answered_by(self) -> str | None:
        return self.run.answered_by

    def reset(self) -> None:
        """A new run: nothing tried, the primary first."""
        self.run = RunContext(on_event=self.events.append)


def chain(*models: ScriptedChatModel, sticky: bool = True) -> tuple[RunOfChain, list[Event]]:
    events: list[Event] = []
    return RunOfChain(FallbackChatModel(models, sticky=sticky), events), events


async def test_two_runs_at_once_keep_their_own_chain_position_and_models_tried() -> None:
    primary = ScriptedChatModel([http(503), answer("p", PRIMARY)], name=PRIMARY)
    backup = ScriptedChatModel([answer("b1", BACKUP), answer("b2", BACKUP)], name=BACKUP)
    shared = FallbackChatModel([primary, backup])
    first, second = RunContext(), RunContext()

    one = await shared.complete(HISTORY, [], RequestSettings(), run=first)
    two = await shared.complete(HISTORY, [], RequestSettings(), run=second)
    again = await shared.complete(HISTORY, [], RequestSettings(), run=first)

    assert [one.message.content, two.message.content, again.message.content] == ["b1", "p", "b2"]
    assert (first.models_tried, first.answered_by) == ([PRIMARY, BACKUP], BACKUP)
    assert (second.models_tried, second.answered_by) == ([PRIMARY], PRIMARY)


HANDED_ON = [
    ("503 unavailable", http(503, "No instances available")),
    ("503 no provider meets routing requirements", http(503, "No provider meets routing requirements")),
    ("429 rate limit", http(429, "Rate limit exceeded")),
    ("connection", ProviderConnectionError("could not connect to http://x", model=PRIMARY)),
    ("200 without choices", BadResponseError("the response had no choices and no error", model=PRIMARY)),
    ("unknown model", http(400, f"{PRIMARY} is not a valid model ID")),
    ("404 no endpoints", http(404, f"No endpoints found for {PRIMARY}.")),
    ("404 no tool endpoints", http(404, "No endpoints found that support tool use.")),
]


@pytest.mark.parametrize("error", [c[1] for c in HANDED_ON], ids=[c[0] for c in HANDED_ON])
async def test_unavailable_kinds_of_failure_hand_the_turn_to_the_next_model(error: ProviderError) -> None:
    primary = ScriptedChatModel([error], name=PRIMARY)
    backup = ScriptedChatModel([answer("from backup", BACKUP)], name=BACKUP)
    model, events = chain(primary, backup)

    response = await model.complete(HISTORY, [], RequestSettings())

    assert response == answer("from backup", BACKUP)
    assert events == [FallingBack(from_model=PRIMARY, to_model=BACKUP, error=str(error))]
    assert (model.models_tried, model.answered_by) == ([PRIMARY, BACKUP], BACKUP)
    assert backup.requests[0].messages == HISTORY
    primary.assert_consumed()
    backup.assert_consumed()


NOT_HANDED_ON = [
    ("401", http(401, "User not found."), "Check the API key"),
    ("402", http(402, "Insufficient credits"), "https://openrouter.ai/settings/credits"),
    ("403 moderation", http(403, "Flagged", metadata={"reasons": ["violence"]}), "Moderation flagged"),
    ("context length", http(400, "maximum context length is 8192 tokens"), None),
    ("400", http(400, "Invalid request"), None),
]


@pytest.mark.parametrize(
    ("error", "advice"), [c[1:] for c in NOT_HANDED_ON], ids=[c[0] for c in NOT_HANDED_ON]
)
async def test_failures_every_model_would_share_are_raised_without_trying_the_next(
    error: ProviderError, advice: str | None
) -> None:
    primary = ScriptedChatModel([error], name=PRIMARY)
    backup = ScriptedChatModel([], name=BACKUP)
    model, events = chain(primary, backup)

    with pytest.raises(type(error)) as raised:
        await model.complete(HISTORY, [], RequestSettings())

    assert events == []
    assert backup.requests == []
    assert model.models_tried == [PRIMARY]
    assert (raised.value.status, raised.value.metadata) == (error.status, error.metadata)
    if advice is None:
        assert raised.value is error
        assert raised.value.__cause__ is None
    else:
        assert raised.value.__cause__ is error
        assert raised.value.message.startswith(error.message.rstrip("."))
        assert advice in raised.value.message


async def test_when_every_model_fails_the_last_error_names_them_all_and_suggests_fallback() -> None:
    primary = ScriptedChatModel([http(503, "down")], name=PRIMARY)
    backup_error = classify(502, "Provider returned error", model=BACKUP, secret=None)
    backup = ScriptedChatModel([backup_error], name=BACKUP)
    model, events = chain(primary, backup)

    with pytest.raises(ProviderError) as raised:
        await model.complete(HISTORY, [], RequestSettings())

    assert str(raised.value) == (
        "the provider is unavailable (502): Provider returned error. "
        f"Every model failed ({PRIMARY}, {BACKUP}); "
        "try again later or add another fallback with --fallback MODEL."
    )
    assert len(events) == 1
    assert model.models_tried == [PRIMARY, BACKUP]
    assert model.answered_by is None


async def test_sticky_chain_starts_later_turns_at_the_model_that_answered_until_reset() -> None:
    primary = ScriptedChatModel([http(503), answer("primary is back", PRIMARY)], name=PRIMARY)
    backup = ScriptedChatModel([answer("one", BACKUP), answer("two", BACKUP)], name=BACKUP)
    model, events = chain(primary, backup)

    first = await model.complete(HISTORY, [], RequestSettings())
    second = await model.complete(HISTORY, [], RequestSettings())
    model.reset()
    third = await model.complete(HISTORY, [], RequestSettings())

    assert [r.message.content for r in (first, second, third)] == ["one", "two", "primary is back"]
    assert len(events) == 1
    assert (model.models_tried, model.answered_by) == ([PRIMARY], PRIMARY)
    primary.assert_consumed()
    backup.assert_consumed()


async def test_non_sticky_chain_asks_the_primary_first_on_every_request() -> None:
    primary = ScriptedChatModel([http(503), answer("primary", PRIMARY)], name=PRIMARY)
    backup = ScriptedChatModel([answer("backup", BACKUP)], name=BACKUP)
    model, events = chain(primary, backup, sticky=False)

    first = await model.complete(HISTORY, [], RequestSettings())
    second = await model.complete(HISTORY, [], RequestSettings())

    assert [first.message.content, second.message.content] == ["backup", "primary"]
    assert len(events) == 1
    assert (model.models_tried, model.answered_by) == ([PRIMARY, BACKUP], PRIMARY)


async def test_a_routed_group_counts_its_models_up_to_the_one_that_answered() -> None:
    group = RoutedScriptedModel(
        [http(503), answer("hi", "acme/b-20250101")], name="acme/a", route=("acme/a", "acme/b", "acme/c")
    )
    backup = ScriptedChatModel([answer("backup", BACKUP)], name=BACKUP)
    model, events = chain(group, backup, sticky=False)

    await model.complete(HISTORY, [], RequestSettings())
    assert events == [FallingBack(from_model="acme/a, acme/b, acme/c", to_model=BACKUP, error=str(http(503)))]
    assert model.models_tried == ["acme/a", "acme/b", "acme/c", BACKUP]

    model.reset()
    await model.complete(HISTORY, [], RequestSettings())
    assert (model.models_tried, model.answered_by) == (["acme/a", "acme/b"], "acme/b-20250101")


async def test_response_without_a_model_field_is_credited_to_the_member() -> None:
    model, _ = chain(ScriptedChatModel([answer("x", None)], name=PRIMARY))

    await model.complete(HISTORY, [], RequestSettings())

    assert (model.model_name, model.models_tried, model.answered_by) == (PRIMARY, [PRIMARY], PRIMARY)


def test_an_empty_chain_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one model"):
        FallbackChatModel([])


ROUTES = [
    ("exact first", ("a/x", "b/y", "c/z"), "a/x", ["a/x"]),
    ("exact second", ("a/x", "b/y", "c/z"), "b/y", ["a/x", "b/y"]),
    ("exact last", ("a/x", "b/y", "c/z"), "c/z", ["a/x", "b/y", "c/z"]),
    ("dated version of the second", ("a/x", "b/y"), "b/y-20250101", ["a/x", "b/y"]),
    ("free variant answered without suffix", ("a/x", "b/y:free"), "b/y", ["a/x", "b/y:free"]),
    ("unknown answer is credited to the first", ("a/x", "b/y"), "z/other", ["a/x"]),
    ("no model field", ("a/x", "b/y"), None, ["a/x"]),
    ("no route", (), "a/x", ["a/x"]),
]


@pytest.mark.parametrize(
    ("route", "answered", "expected"), [c[1:] for c in ROUTES], ids=[c[0] for c in ROUTES]
)
def test_answered_route_is_the_route_up_to_the_answering_model(
    route: tuple[str, ...], answered: str | None, expected: list[str]
) -> None:
    assert answered_route(route, answered) == expected
