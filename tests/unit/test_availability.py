"""OpenRouter's ``error.availability``: read into the error, deciding retries, naming fallbacks."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from agent.errors import (
    ModelNotFoundError,
    PermissionDeniedError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
)
from agent.events import Event, FallingBack
from agent.messages import AssistantMessage, ModelResponse, RequestSettings, UserMessage
from agent.providers import FallbackChatModel
from agent.providers.advice import with_advice
from agent.providers.http_errors import error_from_body, error_from_response
from agent.providers.retry_policy import retry_delay
from agent.run_context import RunContext
from agent.testing import ScriptedChatModel

MODEL = "acme/model-1"
KEY = "sk-or-v1-" + "0123456789abcdef" * 4
HISTORY = [UserMessage(content="hi")]


def body(status: int, message: str, **availability: Any) -> bytes:
    error = {
        "message": message,
        "error_type": "provider_overloaded",
        "http_status": status,
        "availability": {
            "requested_models": [MODEL],
            "docs_url": "https://openrouter.ai/docs/errors",
            **availability,
        },
    }
    return json.dumps({"error": error}).encode()


def failure(
    status: int, message: str = "Unavailable", headers: dict[str, str] | None = None, **availability: Any
) -> ProviderError:
    return error_from_response(
        status, httpx.Headers(headers or {}), body(status, message, **availability), model=MODEL, secret=KEY
    )


def test_the_availability_object_is_kept_on_the_error() -> None:
    error = failure(
        429,
        "All providers for acme/model-1 are at capacity.",
        code="capacity_exhausted",
        retryable=True,
        retry_after=40,
        fallback_models=["acme/small", "acme/small", "", 7, "bad id\x1b[31m", f"x/{KEY}"],
    )
    assert type(error) is RateLimitError
    assert (error.availability_code, error.retryable, error.retry_after) == ("capacity_exhausted", True, 40.0)
    # Each once, printable ids only, and never a key.
    assert error.fallback_models == ("acme/small", "x/[redacted]")


def test_without_availability_the_class_decides_and_nothing_is_suggested() -> None:
    error = error_from_response(503, {}, b'{"error":{"code":503,"message":"down"}}', model=MODEL, secret=None)
    assert (error.retryable, error.fallback_models, error.availability_code) == (True, (), None)
    assert type(error).retryable is True


def test_the_header_wins_over_the_body_for_the_wait() -> None:
    error = failure(
        503, headers={"Retry-After": "3"}, code="temporarily_unavailable", retryable=True, retry_after=9
    )
    assert error.retry_after == 3.0


def test_an_error_chunk_inside_a_stream_carries_availability_too() -> None:
    error = error_from_body(
        {
            "code": 503,
            "message": "busy",
            "availability": {"code": "temporarily_unavailable", "retryable": False},
        },
        status=None,
        model=MODEL,
        secret=None,
    )
    assert type(error) is ProviderUnavailableError
    assert error.retryable is False


# (id, error, expected delay after the first attempt with two retries allowed)
RETRIES: list[tuple[str, ProviderError, float | None]] = [
    ("503 retryable with retry_after waits that long",
     failure(503, code="temporarily_unavailable", retryable=True, retry_after=1.5), 1.5),
    ("503 not retryable is not retried", failure(503, code="temporarily_unavailable", retryable=False), None),
    ("429 not retryable is not retried",
     failure(429, code="capacity_exhausted", retryable=False, retry_after=2), None),
    ("404 no_endpoints marked retryable is retried",
     failure(404, code="no_endpoints", retryable=True, retry_after=0.5), 0.5),
    ("404 without retryable keeps the class default", failure(404, code="no_endpoints"), None),
    ("retry_after past the cap gives up",
     failure(503, code="temporarily_unavailable", retryable=True, retry_after=600), None),
]  # fmt: skip


@pytest.mark.parametrize(("error", "delay"), [c[1:] for c in RETRIES], ids=[c[0] for c in RETRIES])
def test_availability_decides_whether_and_when_to_retry(error: ProviderError, delay: float | None) -> None:
    assert retry_delay(error, 1, max_retries=2, rng=lambda: 0.5) == delay


def test_the_final_error_suggests_the_fallback_models_not_yet_tried() -> None:
    error = failure(404, "acme/model-1 is deprecated", code="model_deprecated", retryable=False,
                    fallback_models=["acme/model-2", "acme/other"])  # fmt: skip
    advised = with_advice(error, tried=[MODEL, "acme/other"])
    assert type(advised) is ModelNotFoundError
    assert advised.message == (
        "model acme/model-1 is not available (404): acme/model-1 is deprecated. "
        "The model id 'acme/model-1' was not found or has no available endpoint; "
        "look it up with `agent models --search model-1`. "
        "OpenRouter suggests: acme/model-2 (--fallback or --auto-fallback)."
    )
    assert (advised.fallback_models, advised.availability_code) == (error.fallback_models, "model_deprecated")
    assert with_advice(advised, tried=[MODEL]) is advised


def answer(text: str, model: str) -> ModelResponse:
    return ModelResponse(message=AssistantMessage(content=text), finish_reason="stop", model=model)


class Suggested:
    """Builds scripted members for suggested models, and remembers which were built."""

    def __init__(self, **scripts: list[Any]) -> None:
        self.scripts = scripts
        self.built: dict[str, ScriptedChatModel] = {}

    def __call__(self, model: str) -> ScriptedChatModel:
        member = self.built[model] = ScriptedChatModel(self.scripts.pop(model), name=model)
        return member


async def complete(model: FallbackChatModel, run: RunContext) -> ModelResponse:
    return await model.complete(HISTORY, [], RequestSettings(), run=run)


@pytest.mark.anyio
async def test_auto_fallback_hands_the_turn_to_the_suggested_models_for_the_rest_of_the_run() -> None:
    deprecated = failure(404, "deprecated", code="model_deprecated", retryable=False,
                         fallback_models=["acme/down", "acme/next", "acme/backup"])  # fmt: skip
    down = failure(503, "busy", code="temporarily_unavailable", retryable=False)
    primary = ScriptedChatModel([deprecated], name=MODEL)
    backup = ScriptedChatModel([], name="acme/backup")
    suggested = Suggested(
        **{"acme/down": [down], "acme/next": [answer("one", "acme/next"), answer("two", "acme/next")]}
    )
    events: list[Event] = []
    run = RunContext(on_event=events.append)
    chain = FallbackChatModel([primary, backup], suggested=suggested)

    first = await complete(chain, run)
    second = await complete(chain, run)

    assert [first.message.content, second.message.content] == ["one", "two"]
    assert list(suggested.built) == ["acme/down", "acme/next"]  # acme/backup is in the chain already
    assert run.models_tried == [MODEL, "acme/down", "acme/next"]
    assert events == [
        FallingBack(from_model=MODEL, to_model="acme/down",
                    error=f"{str(deprecated).rstrip('.')}; OpenRouter suggests acme/down, acme/next"),
        FallingBack(from_model="acme/down", to_model="acme/next", error=str(down)),
    ]  # fmt: skip
    assert chain.models == (primary, backup)  # the chain object keeps no run's suggestions


@pytest.mark.anyio
async def test_without_auto_fallback_suggestions_only_reach_the_error() -> None:
    deprecated = failure(
        404, "deprecated", code="model_deprecated", retryable=False, fallback_models=["acme/next"]
    )
    chain = FallbackChatModel([ScriptedChatModel([deprecated], name=MODEL)])
    with pytest.raises(ModelNotFoundError) as caught:
        await complete(chain, RunContext())
    assert caught.value.message.endswith("OpenRouter suggests: acme/next (--fallback or --auto-fallback).")


@pytest.mark.anyio
async def test_a_refusal_naming_fallbacks_hands_on_with_auto_fallback_but_at_most_three() -> None:
    region = failure(403, "not in your region", code="region_restricted", retryable=False,
                     fallback_models=["a/1", "a/2", "a/3", "a/4"])  # fmt: skip
    again = failure(503, "busy", code="temporarily_unavailable", retryable=False, fallback_models=["a/5"])
    suggested = Suggested(**{"a/1": [again], "a/2": [again], "a/3": [again]})
    run = RunContext()
    chain = FallbackChatModel([ScriptedChatModel([region], name=MODEL)], suggested=suggested)

    with pytest.raises(ProviderUnavailableError) as caught:
        await complete(chain, run)

    assert type(region) is PermissionDeniedError
    assert run.models_tried == [MODEL, "a/1", "a/2", "a/3"]
    assert "Every model failed (acme/model-1, a/1, a/2, a/3)" in caught.value.message
    assert caught.value.message.endswith("OpenRouter suggests: a/5 (--fallback or --auto-fallback).")
