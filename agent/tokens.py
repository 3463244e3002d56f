"""Cheap, conservative token estimates without a tokenizer.

The loop estimates every request before sending it, so this must stay O(messages) with tiny
constants: :class:`TokenCounter` remembers each message's estimate by position and identity
(messages are replaced, never mutated, once they are in a history) and the tool list's estimate
by identity.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from agent.messages import AssistantMessage, Message, ToolMessage, ToolSpec, Usage

__all__ = [
    "CHARS_PER_TOKEN",
    "TokenCounter",
    "message_tokens",
    "text_tokens",
    "tools_tokens",
]

CHARS_PER_TOKEN = 3.5
"""ASCII characters per token assumed; real tokenizers average ~4 on prose and ~3 on JSON/code."""

MESSAGE_OVERHEAD = 4
"""Role and framing tokens every message costs."""

TOOL_CALL_OVERHEAD = 8
"""Framing of one tool call in an assistant message (type, function wrapper)."""

TOOLS_OVERHEAD = 100
"""What a provider adds once when tools are offered (its tool-use preamble)."""

TOOL_SPEC_OVERHEAD = 10
"""Framing of one tool definition."""

MAX_SCALE = 3.0
"""Calibration from reported usage never inflates estimates beyond this factor."""


def text_tokens(text: str) -> int:
    """Estimate the tokens of ``text``: ASCII at 3.5 characters a token, other scripts denser.

    Each extra UTF-8 byte of a non-ASCII character adds half a token, so CJK text counts about
    1.3 tokens a character and Cyrillic or Greek about 0.8: more than common tokenizers use.
    """
    if not text:
        return 0
    chars = len(text)
    if text.isascii():
        return math.ceil(chars / CHARS_PER_TOKEN)
    extra_bytes = len(text.encode("utf-8", "surrogatepass")) - chars
    return math.ceil(chars / CHARS_PER_TOKEN + extra_bytes / 2)


def message_tokens(message: Message) -> int:
    """Estimate one message as the provider adapter sends it (tool calls and reasoning details too)."""
    total = MESSAGE_OVERHEAD
    if isinstance(message, AssistantMessage):
        total += text_tokens(message.content or "")
        for call in message.tool_calls:
            total += TOOL_CALL_OVERHEAD + text_tokens(call.id) + text_tokens(call.name)
            total += text_tokens(call.arguments)
        if message.reasoning_details:
            total += text_tokens(json.dumps(message.reasoning_details))
    elif isinstance(message, ToolMessage):
        total += text_tokens(message.tool_call_id) + text_tokens(message.name) + text_tokens(message.content)
    else:
        total += text_tokens(message.content)
    return total


def tools_tokens(tools: Sequence[ToolSpec]) -> int:
    """Estimate the tool definitions of a request: their JSON, once, plus framing."""
    if not tools:
        return 0
    schemas = json.dumps([tool.model_dump() for tool in tools])
    return TOOLS_OVERHEAD + TOOL_SPEC_OVERHEAD * len(tools) + text_tokens(schemas)


class TokenCounter:
    """Estimates whole requests, reusing earlier estimates of the same message and tool objects.

    ``scale`` (at least 1) corrects the estimates upwards once a response reports more prompt
    tokens than were estimated for its request; see :meth:`observe`.
    """

    def __init__(self) -> None:
        self._cache: list[tuple[Message, int]] = []
        self._tools: Sequence[ToolSpec] | None = None
        self._tools_tokens = 0
        self.scale = 1.0

    def sizes(self, messages: Sequence[Message]) -> list[int]:
        """Unscaled estimate of each message, computing only messages not seen at that position."""
        cache = self._cache
        sizes: list[int] = []
        for index, message in enumerate(messages):
            if index < len(cache) and cache[index][0] is message:
                sizes.append(cache[index][1])
                continue
            size = message_tokens(message)
            if index < len(cache):
                cache[index] = (message, size)
            else:
                cache.append((message, size))
            sizes.append(size)
        del cache[len(messages) :]
        return sizes

    def tools(self, tools: Sequence[ToolSpec]) -> int:
        """Unscaled estimate of the tool definitions, computed once per tool list object."""
        if tools is not self._tools:
            self._tools = tools
            self._tools_tokens = tools_tokens(tools)
        return self._tools_tokens

    def scaled(self, raw: int) -> int:
        """Apply the calibration factor to an unscaled estimate."""
        return math.ceil(raw * self.scale)

    def unscaled(self, tokens: int) -> int:
        """Turn a token count back into unscaled estimate units (rounding down)."""
        return math.floor(tokens / self.scale)

    def observe(self, raw_estimate: int, usage: Usage) -> None:
        """Learn from a response: when it reports more prompt tokens than estimated, scale up."""
        if raw_estimate > 0 and usage.prompt_tokens > raw_estimate:
            self.scale = min(MAX_SCALE, max(self.scale, usage.prompt_tokens / raw_estimate))
