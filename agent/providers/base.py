"""The interface every chat model implements, so wrappers (retry, fallback) compose."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol, runtime_checkable

from agent.messages import Message, ModelResponse, RequestSettings, ToolSpec

__all__ = ["ChatModel", "DeltaCallback", "DeltaKind", "RoutedChatModel", "route_of"]

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
    ) -> ModelResponse:
        """Send one request and return the whole response (streamed when ``settings.stream``).

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
    if isinstance(model, RoutedChatModel):
        return tuple(model.route_models) or (model.model_name,)
    return (model.model_name,)


@runtime_checkable
class ModelChain(ChatModel, Protocol):
    """A chat model that may hand a request to other models (a fallback chain)."""

    @property
    def models_tried(self) -> list[str]:
        """Every model asked since the last :meth:`reset`, in order, once each."""
        ...

    def reset(self) -> None:
        """Start a new run: primary first, nothing tried."""
        ...
