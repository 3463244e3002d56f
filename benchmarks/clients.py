"""The two benchmarked clients behind one interface: ``async with client: await client.run(...)``.

The project is driven through its public Python API only (``run_agent``, ``McpManager``,
``OpenAICompatibleModel``); the floor is :class:`benchmarks.floor.Floor`. Both talk to the same
fake LLM and spawn the same MCP server with the same interpreter.
"""

from __future__ import annotations

import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MCP_SERVER = str(HERE / "mcp_server.py")
SERVER_ARGV = [sys.executable, MCP_SERVER]
CLIENTS = ("floor", "project")


@dataclass(frozen=True)
class Outcome:
    """What one run produced, for the sanity checks."""

    output: str
    turns: int
    tool_results: int


class FloorClient:
    """The hand-written floor loop."""

    def __init__(self, base_url: str) -> None:
        from benchmarks.floor import Floor

        self._floor = Floor(base_url, SERVER_ARGV)

    async def __aenter__(self) -> FloorClient:
        await self._floor.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._floor.__aexit__(*exc)

    async def run(self, model: str, *, stream: bool = False) -> Outcome:
        answer, turns, results = await self._floor.run(model, stream=stream)
        return Outcome(str(answer or ""), turns, results)


class ProjectClient:
    """The project's run_agent over one pooled HTTP client and one McpManager."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._stack = AsyncExitStack()
        self._models: dict[str, Any] = {}

    async def __aenter__(self) -> ProjectClient:
        from agent.config.servers import StdioServerConfig
        from agent.loop import RunOptions, run_agent
        from agent.mcp.manager import McpManager
        from agent.providers import create_http_client

        self._run_agent, self._options = run_agent, RunOptions

        self.http = await self._stack.enter_async_context(create_http_client(300))
        servers = {"bench": StdioServerConfig(command=SERVER_ARGV[0], args=SERVER_ARGV[1:])}
        self.tools = await self._stack.enter_async_context(McpManager(servers))
        if self.tools.failed:
            raise RuntimeError(f"the bench MCP server did not start: {self.tools.failed[0].error}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    def model(self, name: str) -> Any:
        """The chat model for ``name``, made once (outside the timed runs)."""
        from agent.providers import OpenAICompatibleModel

        if name not in self._models:
            self._models[name] = OpenAICompatibleModel(
                self.http, model=name, base_url=self.base_url, api_key="x"
            )
        return self._models[name]

    async def run(self, model: str, *, stream: bool = False) -> Outcome:
        options = self._options(max_turns=100, stream=stream)
        result = await self._run_agent(self.model(model), self.tools, "go", options)
        if result.stop_reason != "completed":
            raise RuntimeError(f"project run stopped with {result.stop_reason}: {result.error}")
        return Outcome(result.output, result.turns, len(result.tool_calls))


def make_client(name: str, base_url: str) -> FloorClient | ProjectClient:
    """``floor`` or ``project``."""
    if name == "floor":
        return FloorClient(base_url)
    if name == "project":
        return ProjectClient(base_url)
    raise ValueError(f"unknown client {name!r}; expected one of {', '.join(CLIENTS)}")
