"""Resources and prompts read from MCP servers, as messages of a conversation.

A resource becomes one user message holding a block labelled with its server and URI (binary
content is described, never inlined); a prompt's messages become user and assistant messages.
This is the boundary for the SDK's ``ReadResourceResult`` and ``GetPromptResult`` types, and for
the protocol errors of reading and getting.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.errors import AgentError, ConfigError, McpError
from agent.messages import AssistantMessage, Message, UserMessage
from agent.text import one_line

if TYPE_CHECKING:
    import mcp_types as types

__all__ = [
    "DEFAULT_RESOURCE_CHARS",
    "ResourceContent",
    "prompt_messages",
    "request_error",
    "resource_block",
    "resource_contents",
    "resource_message",
]

DEFAULT_RESOURCE_CHARS = 100_000
"""A resource's text is cut to this many characters (as a tool result is) unless told otherwise."""


@dataclass(frozen=True, slots=True)
class ResourceContent:
    """One part of a read resource: its text, or (``text is None``) the size of its binary data."""

    uri: str
    mime_type: str | None = None
    text: str | None = None
    size: int = 0


def _decoded_size(data: str) -> int:
    """Bytes of base64 ``data``, without decoding it."""
    return len(data) * 3 // 4 - data.count("=", max(0, len(data) - 2))


def _size(n: int) -> str:
    return f"{n} bytes" if n < 1024 else f"{n / 1024:.1f} KiB"


def _part(resource: Any) -> ResourceContent:
    """A ``TextResourceContents`` or ``BlobResourceContents`` in our terms."""
    text = getattr(resource, "text", None)
    if text is not None:
        return ResourceContent(uri=str(resource.uri), mime_type=resource.mime_type, text=str(text))
    blob = getattr(resource, "blob", "") or ""
    return ResourceContent(uri=str(resource.uri), mime_type=resource.mime_type, size=_decoded_size(blob))


def resource_contents(result: types.ReadResourceResult) -> list[ResourceContent]:
    """The parts of a ``resources/read`` result."""
    return [_part(item) for item in result.contents]


def resource_block(server: str, content: ResourceContent, *, limit: int = DEFAULT_RESOURCE_CHARS) -> str:
    """One resource part as text the model can tell apart from the user's words.

    ``<resource server="fs" uri="file:///a.txt" mime_type="text/plain">`` … ``</resource>``;
    binary content is described by its type and size; text beyond ``limit`` characters is cut
    with a note saying so.
    """
    attributes = f'server="{html.escape(server)}" uri="{html.escape(content.uri)}"'
    if content.mime_type:
        attributes += f' mime_type="{html.escape(content.mime_type)}"'
    if content.text is None:
        kind = content.mime_type or "binary data"
        return f"<resource {attributes}>[{kind}, {_size(content.size)}; not shown]</resource>"
    text = content.text
    if len(text) > limit:
        text = f"{text[:limit]}\n[cut: the first {limit} of {len(content.text)} characters shown]"
    return f"<resource {attributes}>\n{text}\n</resource>"


def resource_message(
    server: str, contents: Sequence[ResourceContent], *, limit: int = DEFAULT_RESOURCE_CHARS
) -> UserMessage:
    """A user message carrying the parts of one read resource, each in its labelled block."""
    blocks = [resource_block(server, content, limit=limit) for content in contents]
    return UserMessage(content="\n".join(blocks) or f'<resource server="{html.escape(server)}"/>')


def _block_text(server: str, block: Any, limit: int) -> str:
    """One content block of a prompt message as text."""
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind}: {block.mime_type}, {_size(_decoded_size(block.data))}; not shown]"
    if kind == "resource_link":
        return f"[resource link: {block.name} <{block.uri}>]"
    if kind == "resource":
        return resource_block(server, _part(block.resource), limit=limit)
    return f"[{kind or 'unknown'} content; not shown]"


def prompt_messages(
    server: str, result: types.GetPromptResult, *, limit: int = DEFAULT_RESOURCE_CHARS
) -> list[Message]:
    """The messages of a ``prompts/get`` result, in order, as user and assistant messages."""
    messages: list[Message] = []
    for message in result.messages:
        text = _block_text(server, message.content, limit)
        if message.role == "assistant":
            messages.append(AssistantMessage(content=text))
        else:
            messages.append(UserMessage(content=text))
    return messages


def request_error(exc: Exception, *, server: str, action: str, refused: str | None = None) -> AgentError:
    """What a failed listing, ``resources/read`` or ``prompts/get`` means for the user.

    With ``refused`` given, the server refusing the request's parameters (``-32602``, or
    ``-32002`` "resource not found" from older servers) means the user asked for something it
    does not have: a :class:`ConfigError` (exit 2) saying ``refused``, with the server's reason.
    Anything else is the server failing to ``action``.
    """
    from mcp.shared.exceptions import MCPError
    from mcp_types import CONNECTION_CLOSED, INVALID_PARAMS

    if isinstance(exc, MCPError):
        message = one_line(exc.error.message, 300)
        if refused is not None and exc.error.code in (INVALID_PARAMS, -32002):
            return ConfigError(f"{refused} ({message})")
        if exc.error.code == CONNECTION_CLOSED:
            return McpError(f"the connection closed while trying to {action}", server=server)
        return McpError(f"could not {action}: {message}", server=server)
    detail = one_line(str(exc) or type(exc).__name__, 300)
    return McpError(f"could not {action}: {type(exc).__name__}: {detail}", server=server)
