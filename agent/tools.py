"""What the loop needs from a source of tools: their descriptions and a way to call them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["ToolInfo", "ToolOutcome", "Toolset"]


@dataclass(frozen=True, slots=True)
class ToolInfo:
    """One tool offered by a server, in the runtime's terms.

    ``input_schema`` is the schema as the server declared it (used to validate arguments);
    what the model is shown is derived from it by the loop.
    """

    server: str
    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    read_only: bool = False
    destructive: bool = False


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What a tool call produced, as text for the model, and whether it failed."""

    text: str
    is_error: bool = False


class Toolset(Protocol):
    """A set of tools from one or more servers."""

    def tools(self) -> Sequence[ToolInfo]:
        """Every tool currently offered."""
        ...

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Run one tool. Failures the model can act on come back as ``is_error`` outcomes."""
        ...
