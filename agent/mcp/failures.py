"""One-line explanations of why an MCP server could not be used, from whatever the SDK raised."""

from __future__ import annotations

from agent.config.servers import StdioServerConfig
from agent.mcp.targets import ServerTarget
from agent.text import one_line

__all__ = ["describe_start_failure", "one_line"]

_LINE_LIMIT = 300


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def describe_start_failure(exc: BaseException, target: ServerTarget) -> str:
    """One line saying why a server did not start (command missing, early exit, SDK error)."""
    from mcp.shared.exceptions import MCPError

    from agent.mcp.oauth_redirect import AuthorizationFailed

    leaves = _leaves(exc)
    for leaf in leaves:
        if isinstance(leaf, AuthorizationFailed):  # one line already, and a URL is not to be cut
            return str(leaf)
    if isinstance(target, StdioServerConfig):
        for leaf in leaves:
            if isinstance(leaf, FileNotFoundError):
                return f"command not found: {target.command}"
            if isinstance(leaf, PermissionError):
                return f"command is not executable: {target.command}"
    for leaf in leaves:
        if isinstance(leaf, MCPError):
            if "closed" in leaf.error.message.lower():
                if isinstance(target, StdioServerConfig):
                    return "the server exited during start-up"
                return "the connection closed during start-up"
            return one_line(f"start-up failed: {leaf.error.message}", _LINE_LIMIT)
    leaf = leaves[0]
    text = str(leaf) or type(leaf).__name__
    return one_line(f"start-up failed: {type(leaf).__name__}: {text}", _LINE_LIMIT)
