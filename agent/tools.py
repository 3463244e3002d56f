"""What the loop needs from a source of tools: their descriptions and a way to call them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from agent.messages import MediaPart

__all__ = ["ToolInfo", "ToolOutcome", "Toolset"]


@dataclass(frozen=True, slots=True)
class ToolInfo:
    """One tool offered by a server, in the runtime's terms.

    ``input_schema`` is the schema as the server declared it (used to validate arguments);
    what the model is shown is derived from it by the loop. ``output_schema`` is the schema the
    tool declared for its structured results, if any. ``read_only`` and ``destructive`` are the
    server's hints defaulted as the MCP spec says; ``annotations`` holds the hints it actually
    sent (snake_case, as ``agent tools --json`` shows them).
    """

    server: str
    name: str
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    read_only: bool = False
    destructive: bool = False
    output_schema: dict[str, Any] | None = None
    annotations: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What a tool call produced: the whole result as text, whether it failed, and its media.

    ``text`` describes every image and audio clip in place (``[image: image/png, 2.0 KiB]``), so
    it is complete for a model that takes only text; ``media`` holds the images and clips
    themselves, for models that take them (text-only results leave it empty).
    """

    text: str
    is_error: bool = False
    media: tuple[MediaPart, ...] = ()


class Toolset(Protocol):
    """A set of tools from one or more servers."""

    def tools(self) -> Sequence[ToolInfo]:
        """Every tool currently offered."""
        ...

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Run one tool. Failures the model can act on come back as ``is_error`` outcomes."""
        ...
