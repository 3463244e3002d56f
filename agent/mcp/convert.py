"""The one boundary between MCP SDK types and the runtime's own types."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from agent.tools import ToolInfo, ToolOutcome

if TYPE_CHECKING:
    import mcp_types as types

__all__ = ["outcome_from_result", "tool_from_mcp"]


def tool_from_mcp(server: str, tool: types.Tool) -> ToolInfo:
    """Describe an MCP tool in the runtime's terms (annotations default as the spec says)."""
    annotations = tool.annotations
    read_only = bool(annotations and annotations.read_only_hint)
    destructive = not read_only and (
        annotations is None or annotations.destructive_hint is None or bool(annotations.destructive_hint)
    )
    schema = dict(tool.input_schema) if tool.input_schema else {"type": "object", "properties": {}}
    return ToolInfo(
        server=server,
        name=tool.name,
        description=tool.description or tool.title or "",
        input_schema=schema,
        read_only=read_only,
        destructive=destructive,
    )


def _size(data: str) -> str:
    """Human size of base64 ``data`` without decoding more than needed."""
    n = len(data) * 3 // 4 - data.count("=", max(0, len(data) - 2))
    return f"{n} bytes" if n < 1024 else f"{n / 1024:.1f} KiB"


def _block_text(block: Any) -> str:
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        return f"[{kind}: {block.mime_type}, {_size(block.data)}]"
    if kind == "resource_link":
        mime = f", {block.mime_type}" if block.mime_type else ""
        return f"[resource link: {block.name} <{block.uri}>{mime}]"
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if text is not None:
            return f"[resource <{resource.uri}>]\n{text}"
        mime = f", {resource.mime_type}" if resource.mime_type else ""
        blob = getattr(resource, "blob", "") or ""
        return f"[embedded resource <{resource.uri}>{mime}, {_size(blob)}]"
    return f"[{kind or 'unknown'} content]"


def outcome_from_result(result: types.CallToolResult) -> ToolOutcome:
    """Turn a tool result into text for the model.

    Text blocks are kept; images, audio and binary resources become a short description (never
    dumped); structured content is used as JSON text when the server sent no text.
    """
    parts = [_block_text(block) for block in result.content]
    has_text = any(getattr(block, "type", None) == "text" for block in result.content)
    if result.structured_content is not None and not has_text:
        parts.insert(0, json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":")))
    text = "\n".join(parts)
    if not text:
        text = "(the tool returned no content)"
    return ToolOutcome(text=text, is_error=bool(result.is_error))
