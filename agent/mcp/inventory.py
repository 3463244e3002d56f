"""What the MCP servers offer, in our own types: the shapes ``agent servers|tools|prompts|resources`` print.

The conversions from the SDK's listing types (``Tool``, ``Prompt``, ``Resource``,
``ResourceTemplate``) live here, the one boundary for them; the entries are plain pydantic models
whose ``model_dump()`` is each command's ``--json`` element.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.config.servers import HttpServerConfig, StdioServerConfig
from agent.mcp.report import ServerState

if TYPE_CHECKING:
    import mcp_types as types

    from agent.mcp.targets import ServerTarget

__all__ = [
    "PromptArgumentEntry",
    "PromptEntry",
    "ResourceEntry",
    "ServerEntry",
    "ToolEntry",
    "TransportName",
    "prompt_entry",
    "resource_entry",
    "template_entry",
    "tool_entry",
    "transport_name",
]

TransportName = Literal["stdio", "streamable-http", "sse", "in-process", "custom"]
"""How a server is reached: ``custom`` is an SDK transport (or factory) given in code."""


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True)


class ServerEntry(_Entry):
    """One configured server: where it stands, how it is reached, and what it offers.

    Counts are of what the server lists (0 when it does not offer that kind, or is not up).
    """

    name: str
    status: ServerState
    transport: TransportName | None = None
    protocol_version: str | None = None
    server_info: str | None = None
    """The server's own name and version, as it introduced itself."""
    startup_ms: float | None = None
    tools: int = 0
    resources: int = 0
    resource_templates: int = 0
    prompts: int = 0
    error: str | None = None


class ToolEntry(_Entry):
    """One tool: its MCP name and the name the model sees, with what the server says of it.

    ``annotations`` holds only the hints the server sent (snake_case: ``read_only_hint``...);
    they are the server's claims, not facts.
    """

    server: str
    name: str
    model_name: str | None = None
    title: str | None = None
    description: str = ""
    annotations: dict[str, Any] = Field(default_factory=dict)
    input_schema: dict[str, Any] = Field(default_factory=dict)


class PromptArgumentEntry(_Entry):
    """One argument of a prompt (prompt arguments are strings)."""

    name: str
    description: str | None = None
    required: bool = False


class PromptEntry(_Entry):
    """One prompt a server offers."""

    server: str
    name: str
    title: str | None = None
    description: str | None = None
    arguments: list[PromptArgumentEntry] = Field(default_factory=list)

    @property
    def required(self) -> list[str]:
        """Names of the arguments that must be given."""
        return [argument.name for argument in self.arguments if argument.required]


class ResourceEntry(_Entry):
    """One resource, or (``template``) a resource template whose ``uri`` is an RFC 6570 template."""

    server: str
    uri: str
    name: str
    template: bool = False
    title: str | None = None
    description: str | None = None
    mime_type: str | None = None
    size: int | None = None


def transport_name(target: ServerTarget, kind: str) -> TransportName:
    """How ``target`` (of connection kind ``kind``) is reached."""
    if isinstance(target, StdioServerConfig):
        return "stdio"
    if isinstance(target, HttpServerConfig):
        return "sse" if target.type == "sse" else "streamable-http"
    return "in-process" if kind == "server" else "custom"


def tool_entry(server: str, tool: types.Tool) -> ToolEntry:
    """An MCP tool as listed (its model-visible name is filled in by whoever knows the name map)."""
    annotations = tool.annotations.model_dump(exclude_none=True) if tool.annotations else {}
    return ToolEntry(
        server=server,
        name=tool.name,
        title=tool.title or (tool.annotations.title if tool.annotations else None),
        description=tool.description or "",
        annotations=annotations,
        input_schema=dict(tool.input_schema or {}),
    )


def prompt_entry(server: str, prompt: types.Prompt) -> PromptEntry:
    """An MCP prompt as listed."""
    return PromptEntry(
        server=server,
        name=prompt.name,
        title=prompt.title,
        description=prompt.description,
        arguments=[
            PromptArgumentEntry(name=a.name, description=a.description, required=bool(a.required))
            for a in prompt.arguments or []
        ],
    )


def resource_entry(server: str, resource: types.Resource) -> ResourceEntry:
    """An MCP resource as listed."""
    return ResourceEntry(
        server=server,
        uri=str(resource.uri),
        name=resource.name,
        title=resource.title,
        description=resource.description,
        mime_type=resource.mime_type,
        size=resource.size,
    )


def template_entry(server: str, template: types.ResourceTemplate) -> ResourceEntry:
    """An MCP resource template as listed."""
    return ResourceEntry(
        server=server,
        uri=template.uri_template,
        name=template.name,
        template=True,
        title=template.title,
        description=template.description,
        mime_type=template.mime_type,
    )
