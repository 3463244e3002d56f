"""The tools of one ``run_task``: some of the agent's servers, some served by servers of the run's own."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from agent.tools import ToolInfo, ToolOutcome, Toolset

__all__ = ["RunToolset"]


class RunToolset:
    """The tools of ``servers`` from ``base``, with the servers of ``replaced`` answered by those.

    A :class:`~agent.tools.Toolset`; like the manager it returns the same list object until the
    tools change, so the loop shapes the schemas once.
    """

    def __init__(
        self, base: Toolset, servers: Collection[str], replaced: Mapping[str, Toolset] | None = None
    ) -> None:
        self._base = base
        self._servers = frozenset(servers)
        self._replaced = dict(replaced or {})
        self._key: tuple[int, ...] = ()
        self._lists: tuple[Sequence[ToolInfo], ...] = ()
        self._tools: list[ToolInfo] = []

    def tools(self) -> Sequence[ToolInfo]:
        """The base servers' tools that are kept, then each replacement's."""
        lists = (self._base.tools(), *(toolset.tools() for toolset in self._replaced.values()))
        key = tuple(id(tools) for tools in lists)
        if key != self._key or any(a is not b for a, b in zip(lists, self._lists, strict=False)):
            self._key, self._lists = key, lists
            kept = [t for t in lists[0] if t.server in self._servers and t.server not in self._replaced]
            self._tools = kept + [
                tool
                for name, tools in zip(self._replaced, lists[1:], strict=True)
                for tool in tools
                if tool.server == name
            ]
        return self._tools

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Run ``tool`` on whichever serves ``server`` in this run."""
        replacement = self._replaced.get(server)
        if replacement is not None:
            return await replacement.call(server, tool, arguments)
        if server not in self._servers:
            return ToolOutcome(f"MCP server '{server}' is not part of this run", is_error=True)
        return await self._base.call(server, tool, arguments)
