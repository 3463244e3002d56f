"""The set of MCP servers of a run: started in parallel, each with a timeout, always stopped."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import TaskGroup

from agent.config.servers import ServerConfig
from agent.errors import ServerStartError
from agent.mcp.connection import McpConnection
from agent.tools import ToolInfo, ToolOutcome

__all__ = ["McpManager", "ServerStatus"]

DEFAULT_STARTUP_TIMEOUT = 30.0


class ServerStatus:
    """How one server's start-up went."""

    def __init__(self, name: str, tools: int, duration_ms: float, error: ServerStartError | None) -> None:
        self.name = name
        self.tools = tools
        self.duration_ms = duration_ms
        self.error = error

    @property
    def ok(self) -> bool:
        """True when the server is up."""
        return self.error is None


class McpManager:
    """Starts, routes to and stops the MCP servers of a run; a :class:`~agent.tools.Toolset`.

    Use as ``async with McpManager(servers) as manager:`` in one task. Servers that fail to
    start are reported in :attr:`statuses` and left out; the run goes on with the others.

    Args:
        servers: server name -> configuration.
        on_status: called once per server when its start-up has succeeded or failed.
    """

    def __init__(
        self,
        servers: Mapping[str, ServerConfig],
        *,
        on_status: Callable[[ServerStatus], None] | None = None,
    ) -> None:
        self._connections = {name: McpConnection(name, cfg) for name, cfg in servers.items()}
        self._on_status = on_status
        self._task_group: TaskGroup | None = None
        self.statuses: dict[str, ServerStatus] = {}
        self._tools_cache: list[ToolInfo] = []
        self._tools_key: tuple[int, ...] = ()

    async def __aenter__(self) -> McpManager:
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        try:
            async with anyio.create_task_group() as starters:
                for connection in self._connections.values():
                    self._task_group.start_soon(connection.run, name=f"mcp:{connection.name}")
                    starters.start_soon(self._await_start, connection)
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        for connection in self._connections.values():
            connection.close()
        task_group, self._task_group = self._task_group, None
        if task_group is None:
            return None
        return await task_group.__aexit__(exc_type, exc, tb)

    async def _await_start(self, connection: McpConnection) -> None:
        started = time.perf_counter()
        await connection.wait_ready(connection.config.startup_timeout or DEFAULT_STARTUP_TIMEOUT)
        status = ServerStatus(
            connection.name,
            len(connection.tools),
            (time.perf_counter() - started) * 1000,
            connection.failure,
        )
        self.statuses[connection.name] = status
        if self._on_status is not None:
            self._on_status(status)

    @property
    def failed(self) -> list[ServerStatus]:
        """Servers that did not start, in configuration order."""
        return [self.statuses[n] for n in self._connections if n in self.statuses and not self.statuses[n].ok]

    @property
    def active(self) -> list[str]:
        """Names of the servers that are up."""
        return [n for n, c in self._connections.items() if c.alive]

    def tools(self) -> Sequence[ToolInfo]:
        """Every tool of every live server; the same list object until a server's tools change."""
        live = [c for c in self._connections.values() if c.alive]
        key = tuple(id(c.tools) for c in live)
        if key != self._tools_key:
            self._tools_key = key
            self._tools_cache = [tool for c in live for tool in c.tools]
        return self._tools_cache

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Run ``tool`` on ``server``."""
        connection = self._connections.get(server)
        if connection is None:
            return ToolOutcome(f"Unknown MCP server '{server}'", is_error=True)
        return await connection.call(tool, arguments)
