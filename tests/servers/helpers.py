"""Small helpers for calling tools in the bundled-server tests."""

from __future__ import annotations

from mcp import Client
from mcp.types import CallToolResult, TextContent


def text_of(result: CallToolResult) -> str:
    """All text blocks of a tool result, joined by newlines."""
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def call(client: Client, tool: str, arguments: dict[str, object] | None = None) -> tuple[bool, str]:
    """Call a tool and return ``(is_error, text)``."""
    result = await client.call_tool(tool, arguments or {})
    return result.is_error, text_of(result)
