"""The interface every chat model implements, so wrappers (retry, fallback) compose."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from agent.messages import Message, ModelResponse, RequestSettings, ToolSpec

__all__ = ["ChatModel", "DeltaCallback", "DeltaKind"]

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
