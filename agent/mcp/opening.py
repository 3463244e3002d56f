"""The messages a run opens with: resources and a prompt taken from the MCP servers.

``--resource SERVER:URI`` (repeatable) reads a resource and adds it as a user message holding
a block labelled with the server and URI; ``--prompt SERVER:NAME`` with ``--arg NAME=VALUE``
gets a server prompt, whose messages follow. The run's own prompt, if any, comes after them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import anyio

from agent.errors import AgentError, ConfigError
from agent.mcp.content import DEFAULT_RESOURCE_CHARS, resource_message

if TYPE_CHECKING:
    from agent.mcp.manager import McpManager
    from agent.messages import Message

__all__ = ["opening_messages", "split_reference"]


def split_reference(value: str, servers: Sequence[str], *, expected: str, source: str) -> tuple[str, str]:
    """``SERVER:REST`` as ``(SERVER, REST)``.

    The longest configured server name followed by ``:`` wins (a name may hold a colon, and a
    URI always does); otherwise the text before the first colon names the server.

    Raises:
        ConfigError: ``value`` has no ``SERVER:`` part, or nothing after it.
    """
    for name in sorted(servers, key=len, reverse=True):
        if value.startswith(f"{name}:") and value[len(name) + 1 :]:
            return name, value[len(name) + 1 :]
    server, colon, rest = value.partition(":")
    if not colon or not server.strip() or not rest:
        raise ConfigError(f"expected {expected}, got {value!r}", source=source)
    return server.strip(), rest


async def opening_messages(
    manager: McpManager,
    *,
    resources: Sequence[str] = (),
    prompt: str | None = None,
    prompt_args: Mapping[str, str] | None = None,
    limit: int = DEFAULT_RESOURCE_CHARS,
) -> list[Message]:
    """The resources' messages (in the order given), then the prompt's.

    Args:
        manager: the servers to read from.
        resources: ``SERVER:URI`` references.
        prompt: a ``SERVER:NAME`` reference, if the run starts from a server prompt.
        prompt_args: the prompt's arguments.
        limit: characters of text kept per resource.

    Raises:
        ConfigError: a reference is malformed or names an unknown server, resource or prompt,
            or a prompt argument is unknown or missing.
        McpError: a server is not running or failed the request.
    """
    names = [report.name for report in manager.reports()]
    wanted = [
        split_reference(value, names, expected="SERVER:URI", source="--resource") for value in resources
    ]
    target = split_reference(prompt, names, expected="SERVER:NAME", source="--prompt") if prompt else None
    if prompt_args and target is None:
        raise ConfigError("prompt arguments are given without --prompt SERVER:NAME", source="--arg")
    read: list[Message | AgentError | None] = [None] * len(wanted)

    async def read_one(index: int, server: str, uri: str) -> None:
        try:
            contents = await manager.read_resource(server, uri)
        except AgentError as exc:  # raised below, the first in the order given, not as a group
            read[index] = exc
        else:
            read[index] = resource_message(server, contents, limit=limit)

    async with anyio.create_task_group() as tg:
        for index, (server, uri) in enumerate(wanted):
            tg.start_soon(read_one, index, server, uri)
    messages: list[Message] = []
    for item in read:
        if isinstance(item, AgentError):
            raise item
        if item is not None:
            messages.append(item)
    if target is not None:
        server, name = target
        messages += await manager.get_prompt(server, name, prompt_args or {}, limit=limit)
    return messages
