"""The stdio MCP server every benchmarked client talks to: ``add(a, b)`` and ``sleep(ms)``.

Both are annotated read-only (they are): the project runs a turn's calls to one server that are
not read-only one after another, and ``bench-parallel-M`` measures calls that may overlap.

Run: ``python benchmarks/mcp_server.py`` (the official SDK's ``MCPServer`` over stdio).
"""

from __future__ import annotations

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

server = MCPServer("bench", version="1.0.0", log_level="WARNING")
READ_ONLY = ToolAnnotations(read_only_hint=True)


@server.tool(annotations=READ_ONLY)
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool(annotations=READ_ONLY)
async def sleep(ms: int) -> str:
    """Sleep for ``ms`` milliseconds, then say so."""
    await anyio.sleep(ms / 1000)
    return f"slept {ms} ms"


if __name__ == "__main__":
    server.run()
