"""The interface every chat model implements, and the base of the wrappers that compose over it.

A request carries the run it belongs to (:class:`~agent.run_context.RunContext`): wrappers keep
per-run facts there, never on themselves, so one model object serves concurrent runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from agent.messages import Message, ModelResponse, RequestSettings, ToolSpec
from agent.run_context import RunContext

__all__ = [
    "ChatModel",
    "DeltaCallback",
    "DeltaKind",
    "ModelCall",
    "RoutedChatModel",
    "WrapperModel",
    "route_of",
]

DeltaKind = Literal["text", "reasoning"]
DeltaCallback = Callable[[DeltaKind, str], None]
"""Called with each streamed fragment as it arrives (text or reasoning)."""


class ChatModel(Protocol):
    """Something that answers a conversation with one response."""

    @property
    def model_name(self) -> str:
        """The model id requests are made for."""
        ...

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        settings: RequestSettings,
        on_delta: DeltaCallback | None = None,
        *,
        run: RunContext | None = None,
    ) -> ModelResponse:
        """Send one request and return the whole response (streamed when ``settings.stream``).

        ``run`` is the run the request belongs to (a fresh context when omitted).

        Raises:
            agent.errors.ProviderError: the request failed; partial streamed output is dropped.
        """
        ...


@runtime_checkable
class RoutedChatModel(ChatModel, Protocol):
    """A chat model whose one request may reach several models (OpenRouter's ``models`` array)."""

    @property
    def route_models(self) -> Sequence[str]:
        """The models a request may reach, in the order they are tried; the first is ``model_name``."""
        ...


def route_of(model: ChatModel) -> tuple[str, ...]:
    """The models a request to ``model`` may reach: its ``route_models``, else just its name."""
    # getattr, not isinstance: a runtime-checkable Protocol check costs ~40 us, on every request.
    route: Sequence[str] | None = getattr(model, "route_models", None)
    return tuple(route) if route else (model.model_name,)


@dataclass(frozen=True, slots=True)
class ModelCall:
    """One request on its way through the wrappers: what to send, and for which run."""

    messages: Sequence[Message]
    tools: Sequence[ToolSpec]
    settings: RequestSettings
    on_delta: DeltaCallback | None
    run: RunContext

    def send(self, model: ChatModel, **changes: Any) -> Coroutine[Any, Any, ModelResponse]:
        """Pass this request (with ``changes`` to its fields) to ``model``; await the result.

        Not itself a coroutine: the caller awaits ``model``'s own, so a wrapper adds no frame
        that every resumption of a streamed response has to pass through.
        """
        call = dataclasses.replace(self, **changes) if changes else self
        return model.complete(call.messages, call.tools, call.settings, call.on_delta, run=call.run)


class WrapperModel:
    """A chat model that wraps another: everything delegates to ``inner`` unless overridden.

    :meth:`complete` is declared here once; a wrapper overrides :meth:`request`, which gets the
    whole :class:`ModelCall` (the run's context included).
    """

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"

    @property
    def model_name(self) -> str:
        """The model id of ``inner``."""
        return self.inner.model_name

    @property
    def route_models(self) -> tuple[str, ...]:
        """The models a request to ``inner`` may reach (see :func:`route_of`)."""
        return route_of(self.inner)

    def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        settings: RequestSettings,
        on_delta: DeltaCallback | None = None,
        *,
        run: RunContext | None = None,
    ) -> Coroutine[Any, Any, ModelResponse]:
        """Handle one request (see :meth:`request`); await the result."""
        return self.request(ModelCall(messages, tools, settings, on_delta, run or RunContext()))

    async def request(self, call: ModelCall) -> ModelResponse:
        """Handle one request; the default passes it to ``inner`` unchanged."""
        return await call.send(self.inner)
