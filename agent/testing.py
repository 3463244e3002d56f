"""Test doubles shipped with the library: a scripted chat model and a static toolset.

They let users (and our own tests) drive :func:`agent.loop.run_agent` without a network or
MCP servers. The scripted model fails loudly on a request it has no step for, and
:meth:`ScriptedChatModel.assert_consumed` fails on steps that were never used.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.messages import (
    AssistantMessage,
    Message,
    ModelResponse,
    RequestSettings,
    ToolCall,
    ToolSpec,
    Usage,
)
from agent.providers.base import DeltaCallback
from agent.run_context import RunContext
from agent.static_tools import StaticToolset

__all__ = ["ScriptedChatModel", "ScriptedRequest", "StaticToolset", "call", "reply"]

_ids = itertools.count(1)

Step = ModelResponse | AssistantMessage | Exception | Callable[[Sequence[Message]], ModelResponse]


def reply(text: str | None = None, *calls: ToolCall, usage: Usage | None = None) -> ModelResponse:
    """A response with optional text and tool calls."""
    return ModelResponse(
        message=AssistantMessage(content=text, tool_calls=list(calls)),
        usage=usage or Usage(),
        finish_reason="tool_calls" if calls else "stop",
    )


def call(name: str, arguments: dict[str, Any] | str | None = None, *, id: str | None = None) -> ToolCall:
    """A tool call; arguments given as a dict are encoded as JSON, a string is sent verbatim."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return ToolCall(id=id or f"call_{next(_ids)}", name=name, arguments=text)


@dataclass(frozen=True, slots=True)
class ScriptedRequest:
    """What the scripted model was asked: a snapshot of the history and the tools."""

    messages: list[Message]
    tools: list[ToolSpec]
    settings: RequestSettings


@dataclass
class ScriptedChatModel:
    """A :class:`~agent.providers.base.ChatModel` that answers from a list of steps, in order.

    A step is a response, an assistant message, an exception to raise, or a function of the
    history returning a response. Streaming requests get the text delivered in pieces.
    """

    steps: list[Step]
    name: str = "scripted/model"
    requests: list[ScriptedRequest] = field(default_factory=list)

    @property
    def model_name(self) -> str:
        """The model id this double claims to be."""
        return self.name

    async def complete(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        settings: RequestSettings,
        on_delta: DeltaCallback | None = None,
        *,
        run: RunContext | None = None,
    ) -> ModelResponse:
        """Answer with the next step; an unexpected extra request is an AssertionError."""
        self.requests.append(ScriptedRequest(list(messages), list(tools), settings))
        if len(self.requests) > len(self.steps):
            raise AssertionError(
                f"unexpected request #{len(self.requests)}: the script has {len(self.steps)}"
            )
        step = self.steps[len(self.requests) - 1]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, AssistantMessage):
            step = ModelResponse(message=step, finish_reason="tool_calls" if step.tool_calls else "stop")
        elif not isinstance(step, ModelResponse):
            step = step(messages)
        if settings.stream and on_delta is not None and step.message.content:
            text = step.message.content
            for start in range(0, len(text), 4):
                on_delta("text", text[start : start + 4])
        return step

    def assert_consumed(self) -> None:
        """Fail when some steps were never requested."""
        left = len(self.steps) - len(self.requests)
        if left > 0:
            raise AssertionError(f"{left} scripted step(s) were never requested")
