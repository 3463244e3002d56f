"""Sampling between the MCP SDK's types and ours: a server's request in, the model's answer out.

A server's ``sampling/createMessage`` carries a conversation of text, images, audio, tool uses
and tool results, possibly tools with a tool choice. It becomes our messages and tool specs
(tool names made safe for OpenAI-style APIs and mapped back), one completion by the run's chat
model answers it, and the answer goes back as ``CreateMessageResult`` (or
``CreateMessageResultWithTools`` when the request offered tools). Tools the model calls are not
run here: their calls go back to the server, which runs them and may ask again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.events import SamplingRequest
from agent.messages import (
    AssistantMessage,
    AudioPart,
    ImagePart,
    MediaPart,
    Message,
    ModelResponse,
    RequestSettings,
    ToolCall,
    ToolMessage,
    ToolSpec,
    UserMessage,
)
from agent.naming import ToolNameMap, ToolRef

if TYPE_CHECKING:
    import mcp_types as types

__all__ = ["SamplingCall", "sampling_call", "sampling_result"]

_STOP_REASONS = {"stop": "endTurn", "length": "maxTokens", "tool_calls": "toolUse"}


@dataclass(frozen=True, slots=True)
class SamplingCall:
    """A server's sampling request in our terms: what to ask the model, and how."""

    request: SamplingRequest
    tools: list[ToolSpec]
    settings: RequestSettings
    names: ToolNameMap
    with_tools: bool


def sampling_call(server: str, call_id: str | None, params: types.CreateMessageRequestParams) -> SamplingCall:
    """Our request for ``params`` (from ``server``, during tool call ``call_id`` if known)."""
    names = ToolNameMap(ToolRef("", tool.name) for tool in params.tools or ())
    tools = [
        ToolSpec(
            name=names.name_for("", tool.name),
            description=tool.description or "",
            parameters=dict(tool.input_schema or {"type": "object", "properties": {}}),
        )
        for tool in params.tools or ()
    ]
    choice = params.tool_choice.mode if params.tool_choice is not None else None
    settings = RequestSettings(
        stream=False,
        max_tokens=params.max_tokens,
        temperature=params.temperature,
        tool_choice=choice if tools else None,
    )
    hints = params.model_preferences.hints if params.model_preferences else None
    request = SamplingRequest(
        server=server,
        call_id=call_id,
        messages=_messages(params.messages, names),
        system_prompt=params.system_prompt,
        max_tokens=params.max_tokens,
        temperature=params.temperature,
        tools=[tool.name for tool in params.tools or ()],
        model_hints=[h.name for h in hints or () if h.name],
    )
    return SamplingCall(request, tools, settings, names, with_tools=params.tools is not None)


def _messages(messages: Sequence[types.SamplingMessage], names: ToolNameMap) -> list[Message]:
    import mcp_types as types

    ours: list[Message] = []
    tool_names: dict[str, str] = {}
    for message in messages:
        texts: list[str] = []
        media: list[MediaPart] = []
        calls: list[ToolCall] = []
        for block in message.content_as_list:
            if isinstance(block, types.TextContent):
                texts.append(block.text)
            elif isinstance(block, types.ImageContent):
                media.append(ImagePart(data=block.data, mime_type=block.mime_type))
            elif isinstance(block, types.AudioContent):
                media.append(AudioPart(data=block.data, mime_type=block.mime_type))
            elif isinstance(block, types.ToolUseContent):
                name = _model_name(names, block.name)
                tool_names[block.id] = name
                calls.append(ToolCall(id=block.id, name=name, arguments=json.dumps(block.input)))
            elif isinstance(block, types.ToolResultContent):
                ours.append(
                    ToolMessage(
                        tool_call_id=block.tool_use_id,
                        name=tool_names.get(block.tool_use_id, "tool"),
                        content=_result_text(block),
                        is_error=bool(block.is_error),
                    )
                )
        text = "\n".join(texts)
        if message.role == "assistant":
            if text or calls:
                ours.append(AssistantMessage(content=text or None, tool_calls=calls))
        elif text or media:
            ours.append(UserMessage(content=text, media=tuple(media)))
    return ours


def _model_name(names: ToolNameMap, tool: str) -> str:
    try:
        return names.name_for("", tool)
    except KeyError:  # a tool use of a tool not offered in this request: as it was named
        return tool


def _result_text(block: types.ToolResultContent) -> str:
    import mcp_types as types

    parts = [b.text for b in block.content if isinstance(b, types.TextContent)]
    if not parts and block.structured_content is not None:
        parts.append(json.dumps(block.structured_content))
    return "\n".join(parts)


def sampling_result(
    call: SamplingCall, response: ModelResponse, model: str
) -> types.CreateMessageResult | types.CreateMessageResultWithTools:
    """The SDK result for the model's ``response`` to ``call``."""
    import mcp_types as types

    message = response.message
    reason = response.finish_reason or "stop"
    stop = "toolUse" if message.tool_calls else _STOP_REASONS.get(reason, reason)
    text = types.TextContent(text=message.content or "")
    if not call.with_tools:
        return types.CreateMessageResult(role="assistant", content=text, model=model, stop_reason=stop)
    blocks: list[types.SamplingMessageContentBlock] = [text] if message.content else []
    for tool_call in message.tool_calls:
        ref = call.names.resolve(tool_call.name)
        try:
            arguments: Any = tool_call.parsed_arguments()
        except ValueError:
            arguments = {}
        blocks.append(
            types.ToolUseContent(
                id=tool_call.id,
                name=ref.tool if ref is not None else tool_call.name,
                input=arguments if isinstance(arguments, dict) else {},
            )
        )
    return types.CreateMessageResultWithTools(
        role="assistant", content=blocks or [text], model=model, stop_reason=stop
    )
