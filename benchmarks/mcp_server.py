"""The stdio MCP server every benchmarked client talks to: ``add(a, b)`` and ``sleep(ms)``.

Run: ``python benchmarks/mcp_server.py`` (the official SDK's ``MCPServer`` over stdio).
"""

from __future__ import annotations

import anyio
from mcp.server.mcpserver import MCPServer

server = MCPServer("bench", version="1.0.0", log_level="WARNING")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
async def sleep(ms: int) -> str:
    """Sleep for ``ms`` milliseconds, then say so."""
    await anyio.sleep(ms / 1000)
    return f"slept {ms} ms"


if __name__ == "__main__":
    server.run()
