"""The two benchmarked clients behind one interface: ``async with client: await client.run(...)``.

The project is driven through its public Python API only (one ``agent.Agent`` for every run,
as a script would use it); the floor is :class:`benchmarks.floor.Floor`. Both talk to the same
fake LLM and spawn the same MCP server with the same interpreter.
"""

from __future__ import annotations

import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

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
    """The project's front door: one ``agent.Agent`` (one HTTP pool, one MCP connection) for every run."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> ProjectClient:
        import tempfile

        from agent import Agent
        from agent.config.servers import StdioServerConfig

        home = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-agent-")))
        env = {
            "OPENROUTER_BASE_URL": self.base_url,
            "OPENROUTER_API_KEY": "x",
            "AGENT_CONFIG_DIR": str(home / "config"),
            "AGENT_CACHE_DIR": str(home / "cache"),
            "HOME": str(home),
        }
        server = StdioServerConfig(command=SERVER_ARGV[0], args=SERVER_ARGV[1:])
        agent = Agent(
            model="bench-k1", no_servers=True, max_turns=100, mcp_servers={"bench": server}, env=env, cwd=home
        )
        self.agent = await self._stack.enter_async_context(agent)
        failed = [s for s in self.agent.servers() if s.status != "active"]
        if failed:
            raise RuntimeError(f"the bench MCP server did not start: {failed[0].error}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def run(self, model: str, *, stream: bool = False) -> Outcome:
        result = await self.agent.run("go", model=model, stream=stream)
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
