"""Neutral message, tool and usage types: the core speaks these, adapters translate them.

Wire formats (OpenAI chat JSON, MCP SDK types) never leave their adapters; everything the loop,
transcripts and results handle is one of the models below.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AssistantMessage",
    "AudioPart",
    "CostSource",
    "ImagePart",
    "MediaPart",
    "Message",
    "ModelResponse",
    "RequestSettings",
    "SystemMessage",
    "ToolCall",
    "ToolMessage",
    "ToolSpec",
    "Usage",
    "UserMessage",
    "base64_size",
    "describe_media",
    "new_call_id",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


_ID_ALPHABET = string.ascii_letters + string.digits


def new_call_id() -> str:
    """A fresh tool-call id: 9 letters and digits, accepted by every provider's rules (Mistral's too).

    The one generator for ids the runtime makes up: calls that came without an id or with a
    repeated one, and calls written as ``<tool_call>`` text.
    """
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(9))


class ToolCall(_Model):
    """One call the model asked for.

    ``arguments`` is the JSON text exactly as the model sent it (``"{}"`` when it sent nothing),
    so the assistant message can be replayed verbatim; :meth:`parsed_arguments` decodes it.
    """

    id: str
    name: str
    arguments: str = "{}"

    def parsed_arguments(self) -> dict[str, Any]:
        """Decode ``arguments`` (untrusted model output: nesting is bounded).

        Raises:
            ValueError: the text is not JSON, is nested too deeply, or is not an object; the
                message is written for the model.
        """
        from agent import safe_json

        try:
            value = safe_json.loads(self.arguments) if self.arguments.strip() else None
        except ValueError as exc:
            raise ValueError(f"the arguments are not valid JSON: {exc}") from None
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError(f"the arguments must be a JSON object, got {type(value).__name__}")
        return value


def base64_size(data: str) -> int:
    """The number of bytes base64 ``data`` decodes to, without decoding it."""
    return len(data) * 3 // 4 - data.count("=", max(0, len(data) - 2))


class ImagePart(_Model):
    """An image a tool returned, for models that take image input: base64 ``data`` of ``mime_type``."""

    type: Literal["image"] = "image"
    data: str
    mime_type: str

    @property
    def size(self) -> int:
        """The image's size in bytes."""
        return base64_size(self.data)


class AudioPart(_Model):
    """An audio clip a tool returned, for models that take audio input: base64 ``data`` of ``mime_type``."""

    type: Literal["audio"] = "audio"
    data: str
    mime_type: str

    @property
    def size(self) -> int:
        """The clip's size in bytes."""
        return base64_size(self.data)


MediaPart = Annotated[ImagePart | AudioPart, Field(discriminator="type")]
"""Content a message carries besides its text (only to models whose input modalities take it)."""


def describe_media(media: Sequence[ImagePart | AudioPart]) -> str:
    """``1 image``, ``2 images and 1 audio clip``: what ``media`` holds, for notes to the model."""
    images = sum(1 for part in media if part.type == "image")
    clips = len(media) - images
    kinds = [
        f"{count} {noun}{'' if count == 1 else 's'}"
        for count, noun in ((images, "image"), (clips, "audio clip"))
        if count
    ]
    return " and ".join(kinds)


class SystemMessage(_Model):
    """Instructions for the model."""

    role: Literal["system"] = "system"
    content: str


class UserMessage(_Model):
    """What the user (or the text protocol, carrying tool results) says.

    ``media`` (images, audio) goes after the text; only tool results bring it, and only for
    models that take it.
    """

    role: Literal["user"] = "user"
    content: str
    media: tuple[MediaPart, ...] = ()


class AssistantMessage(_Model):
    """What the model answered: text and/or tool calls, plus what must be sent back verbatim."""

    role: Literal["assistant"] = "assistant"
    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    reasoning: str | None = None
    reasoning_details: list[dict[str, Any]] | None = None


class ToolMessage(_Model):
    """The result of one tool call, answering the call with the same id.

    ``content`` is the whole result as text (images and audio described in place); ``media``
    holds the images and audio clips themselves when the model takes them. How media reaches
    the model is the provider adapter's business (OpenAI-style APIs take none in tool messages).
    """

    role: Literal["tool"] = "tool"
    tool_call_id: str
    name: str
    content: str
    is_error: bool = False
    media: tuple[MediaPart, ...] = ()


Message = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolMessage,
    Field(discriminator="role"),
]


class ToolSpec(_Model):
    """A tool as the model sees it: a model-visible name, a description and a JSON schema."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})


CostSource = Literal["reported", "estimated", "mixed"]


class Usage(_Model):
    """Tokens and cost of one response, or the sum over a run.

    ``cost_source`` says where ``cost`` came from: ``reported`` by the provider (OpenRouter's
    ``usage.cost``), ``estimated`` from the model's prices, ``mixed`` in a sum of both; None
    when no cost is known. A cost given without a source counts as reported.

    ``cached_tokens`` of the prompt were read from the provider's prompt cache, and
    ``cache_write_tokens`` written to it (both part of ``prompt_tokens``);
    ``reasoning_tokens`` of the completion were thinking.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cost: float | None = None
    cost_source: CostSource | None = None
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0

    @model_validator(mode="after")
    def _source_of_cost(self) -> Usage:
        if self.cost is None:
            self.cost_source = None
        elif self.cost_source is None:
            self.cost_source = "reported"
        return self

    def __add__(self, other: Usage) -> Usage:
        both_unknown = self.cost is None and other.cost is None
        cost = None if both_unknown else (self.cost or 0.0) + (other.cost or 0.0)
        sources = {u.cost_source for u in (self, other) if u.cost is not None}
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            cost=cost,
            cost_source=sources.pop() if len(sources) == 1 else "mixed" if sources else None,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


class RequestSettings(_Model):
    """Per-request options the loop passes to a chat model.

    ``response_format`` asks for structured output (OpenAI's shape); ``session_id`` keeps the
    run's requests on one provider (OpenRouter's sticky routing); ``cache_prompt`` marks the
    system prompt and the tool definitions as cache breakpoints (``cache_control``), for models
    whose providers cache only what is marked.
    """

    stream: bool = False
    tool_choice: Literal["auto", "required", "none"] | None = None
    parallel_tool_calls: bool | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    response_format: dict[str, Any] | None = None
    session_id: str | None = None
    cache_prompt: bool = False


class ModelResponse(_Model):
    """One completed model response, streamed or not."""

    message: AssistantMessage
    usage: Usage = Field(default_factory=Usage)
    finish_reason: str | None = None
    native_finish_reason: str | None = None
    feedback: list[str] = Field(default_factory=list)
    """What the model must be told before it goes on (e.g. ``<tool_call>`` blocks it got wrong)."""
    model: str | None = None
    provider: str | None = None
    id: str | None = None
