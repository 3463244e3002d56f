"""The set of MCP servers of a run: started in parallel, each with a timeout, always stopped.

A server that dies after starting is restarted once, on the next call to one of its tools; a
second death leaves it out of the run. Servers that fail to start are reported and left out.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import anyio
from anyio.abc import TaskGroup

from agent.config.servers import ServerConfig
from agent.errors import ServerStartError
from agent.events import EventSink, Notice, ServerFailed, ServerStarted
from agent.mcp.connection import McpConnection
from agent.tools import ToolInfo, ToolOutcome

__all__ = ["McpManager", "ServerStatus"]

DEFAULT_STARTUP_TIMEOUT = 30.0
MAX_RESTARTS = 1


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """How one server's start-up went."""

    name: str
    tools: int
    duration_ms: float
    error: ServerStartError | None

    @property
    def ok(self) -> bool:
        """True when the server is up."""
        return self.error is None


class McpManager:
    """Starts, routes to and stops the MCP servers of a run; a :class:`~agent.tools.Toolset`.

    Use as ``async with McpManager(servers) as manager:`` in one task. Start-up results are in
    :attr:`statuses` and reported as ``ServerStarted``/``ServerFailed`` events.

    Args:
        servers: server name -> configuration.
        on_event: receives server events and notices (restarts).
        wait: enter only once every server is up or failed; with ``False`` entering returns as soon
            as the server processes exist, and :meth:`wait_started` waits for the rest (so the
            caller's own start-up work overlaps the servers').
    """

    def __init__(
        self, servers: Mapping[str, ServerConfig], *, on_event: EventSink | None = None, wait: bool = True
    ) -> None:
        self._configs = dict(servers)
        self._connections = {name: McpConnection(name, cfg) for name, cfg in servers.items()}
        self._restarts = dict.fromkeys(servers, 0)
        self._locks = {name: anyio.Lock() for name in servers}
        self._on_event = on_event
        self._task_group: TaskGroup | None = None
        self._wait = wait
        self._started = False
        self.statuses: dict[str, ServerStatus] = {}
        self._tools_cache: list[ToolInfo] = []
        self._tools_key: tuple[int, ...] = ()

    async def __aenter__(self) -> McpManager:
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        try:
            for connection in self._connections.values():
                self._task_group.start_soon(connection.run, name=f"mcp:{connection.name}")
            for connection in self._connections.values():
                await connection.wait_spawned()
            if self._wait:
                await self.wait_started()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def wait_started(self) -> None:
        """Wait until every server is up or has failed (each within its start-up timeout)."""
        if self._started:
            return
        async with anyio.create_task_group() as starters:
            for connection in self._connections.values():
                starters.start_soon(self._await_start, connection)
        self._started = True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        for connection in self._connections.values():
            connection.close()
        task_group, self._task_group = self._task_group, None
        if task_group is not None:
            # The connections are closing on their own; the caller's exception (if any) propagates
            # as it is rather than wrapped in the task group's exception group.
            await task_group.__aexit__(None, None, None)
        return None

    def _emit(self, event: ServerStarted | ServerFailed | Notice) -> None:
        if self._on_event is not None:
            self._on_event(event)

    async def _await_start(self, connection: McpConnection) -> ServerStatus:
        started = time.perf_counter()
        await connection.wait_ready(connection.config.startup_timeout or DEFAULT_STARTUP_TIMEOUT)
        status = ServerStatus(
            connection.name, len(connection.tools), (time.perf_counter() - started) * 1000, connection.failure
        )
        self.statuses[connection.name] = status
        if status.error is None:
            self._emit(ServerStarted(server=status.name, tools=status.tools, duration_ms=status.duration_ms))
        else:
            self._emit(
                ServerFailed(
                    server=status.name, message=status.error.detail, stderr_tail=status.error.stderr_tail
                )
            )
        return status

    @property
    def failed(self) -> list[ServerStatus]:
        """Servers that did not start, in configuration order."""
        return [self.statuses[n] for n in self._connections if n in self.statuses and not self.statuses[n].ok]

    @property
    def active(self) -> list[str]:
        """Names of the servers that are up."""
        return [n for n, c in self._connections.items() if c.alive]

    def _offered(self, connection: McpConnection) -> bool:
        if connection.alive:
            return True
        return connection.crashed and self._restarts[connection.name] < MAX_RESTARTS

    def tools(self) -> Sequence[ToolInfo]:
        """Tools of every live (or restartable) server; the same list object until they change."""
        live = [c for c in self._connections.values() if self._offered(c)]
        key = tuple(id(c.tools) for c in live)
        if key != self._tools_key:
            self._tools_key = key
            self._tools_cache = [tool for c in live for tool in c.tools]
        return self._tools_cache

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Run ``tool`` on ``server``, restarting the server once if it died earlier."""
        connection = self._connections.get(server)
        if connection is None:
            return ToolOutcome(f"Unknown MCP server '{server}'", is_error=True)
        if connection.crashed:
            connection = await self._restart(server)
            if connection is None:
                return ToolOutcome(
                    f"MCP server '{server}' stopped working and could not be restarted", is_error=True
                )
        return await connection.call(tool, arguments)

    async def _restart(self, name: str) -> McpConnection | None:
        """Replace a crashed connection with a fresh one (once per server); None when not possible."""
        async with self._locks[name]:
            current = self._connections[name]
            if not current.crashed:
                return current
            if self._restarts[name] >= MAX_RESTARTS or self._task_group is None:
                return None
            self._restarts[name] += 1
            current.close()
            self._emit(Notice(message=f"MCP server '{name}' stopped unexpectedly; restarting it"))
            fresh = McpConnection(name, self._configs[name])
            self._connections[name] = fresh
            self._task_group.start_soon(fresh.run, name=f"mcp:{name}")
            status = await self._await_start(fresh)
            return fresh if status.ok else None
