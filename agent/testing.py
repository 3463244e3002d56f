"""Test doubles shipped with the library: a scripted chat model and a static toolset.

They let users (and our own tests) drive :func:`agent.loop.run_agent` without a network or
MCP servers. The scripted model fails loudly on a request it has no step for, and
:meth:`ScriptedChatModel.assert_consumed` fails on steps that were never used.
"""

from __future__ import annotations

import inspect
import itertools
import json
from collections.abc import Awaitable, Callable, Sequence
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
from agent.tools import ToolInfo, ToolOutcome

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


ToolFunction = Callable[..., Any]


class StaticToolset:
    """A :class:`~agent.tools.Toolset` of plain Python functions, for tests and scripts.

    A function receives the arguments as keyword arguments and returns a string (or any JSON
    value), a :class:`~agent.tools.ToolOutcome`, or raises to produce an error result.
    """

    def __init__(self, server: str = "local") -> None:
        self.server = server
        self._tools: list[ToolInfo] = []
        self._functions: dict[str, ToolFunction] = {}

    def add(
        self,
        name: str,
        function: ToolFunction,
        *,
        description: str = "",
        schema: dict[str, Any] | None = None,
        server: str | None = None,
    ) -> StaticToolset:
        """Offer ``function`` as tool ``name``; returns self for chaining."""
        info = ToolInfo(
            server=server or self.server,
            name=name,
            description=description or (inspect.getdoc(function) or ""),
            input_schema=schema or {"type": "object", "properties": {}},
        )
        self._tools = [*self._tools, info]
        self._functions[f"{info.server}\x00{name}"] = function
        return self

    def tools(self) -> Sequence[ToolInfo]:
        """Every tool added so far."""
        return self._tools

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Run the function behind ``tool``; exceptions become error outcomes."""
        function = self._functions.get(f"{server}\x00{tool}")
        if function is None:
            return ToolOutcome(f"Unknown tool '{tool}'", is_error=True)
        try:
            value = function(**arguments)
            if isinstance(value, Awaitable):
                value = await value
        except Exception as exc:
            return ToolOutcome(f"{type(exc).__name__}: {exc}", is_error=True)
        if isinstance(value, ToolOutcome):
            return value
        return ToolOutcome(value if isinstance(value, str) else json.dumps(value))
