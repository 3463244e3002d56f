"""A :class:`~agent.tools.Toolset` of plain Python functions: for scripts, probes and tests.

``agent probe`` offers its test tools this way; users can give the loop Python functions
without an MCP server.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from agent.tools import ToolInfo, ToolOutcome

__all__ = ["StaticToolset", "ToolFunction"]

ToolFunction = Callable[..., Any]


class StaticToolset:
    """A :class:`~agent.tools.Toolset` of plain Python functions, for tests and scripts.

    A function receives the arguments as keyword arguments and returns a string (or any JSON
    value), a :class:`~agent.tools.ToolOutcome`, or raises to produce an error result.
    """

    def __init__(self, server: str = "local") -> None:
        self.server = server
        self._tools: list[ToolInfo] = []
        self._functions: dict[str, ToolFunction] = {}

    def add(
        self,
        name: str,
        function: ToolFunction,
        *,
        description: str = "",
        schema: dict[str, Any] | None = None,
        server: str | None = None,
        read_only: bool = False,
    ) -> StaticToolset:
        """Offer ``function`` as tool ``name``; returns self for chaining.

        ``read_only`` says the function changes nothing: calls of it in one turn may then
        overlap other calls to the same server, which otherwise run one after another.
        """
        info = ToolInfo(
            server=server or self.server,
            name=name,
            description=description or (inspect.getdoc(function) or ""),
            input_schema=schema or {"type": "object", "properties": {}},
            read_only=read_only,
        )
        self._tools = [*self._tools, info]
        self._functions[f"{info.server}\x00{name}"] = function
        return self

    def tools(self) -> Sequence[ToolInfo]:
        """Every tool added so far."""
        return self._tools

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Run the function behind ``tool``; exceptions become error outcomes."""
        function = self._functions.get(f"{server}\x00{tool}")
        if function is None:
            return ToolOutcome(f"Unknown tool '{tool}'", is_error=True)
        try:
            value = function(**arguments)
            if isinstance(value, Awaitable):
                value = await value
        except Exception as exc:
            return ToolOutcome(f"{type(exc).__name__}: {exc}", is_error=True)
        if isinstance(value, ToolOutcome):
            return value
        return ToolOutcome(value if isinstance(value, str) else json.dumps(value))
