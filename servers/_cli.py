"""Shared start-up helpers for the bundled servers: one-line errors and logs, and tool annotations.

Kept free of MCP imports at module level so a server can reject bad arguments before paying
for the SDK import.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from mcp.types import ToolAnnotations

__all__ = ["OneLineParser", "configure_logging", "exit_with_error", "tool_annotations"]

USAGE_EXIT_CODE = 2
_MAX_LOG_CHARS = 1000


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are a single stderr line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Report a usage error in one line instead of argparse's usage block."""
        exit_with_error(self.prog, message)


def exit_with_error(prog: str, message: str) -> NoReturn:
    """Write ``PROG: error: MESSAGE`` on stderr and exit with the usage-error code."""
    first_line = message.strip().splitlines()[0] if message.strip() else "invalid arguments"
    sys.stderr.write(f"{prog}: error: {first_line}\n")
    raise SystemExit(USAGE_EXIT_CODE)


def tool_annotations(
    *, read_only: bool, destructive: bool = False, idempotent: bool = True
) -> ToolAnnotations:
    """Build MCP tool hints for a tool that touches only local state (never the open world)."""
    from mcp.types import ToolAnnotations

    return ToolAnnotations(
        read_only_hint=read_only,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=False,
    )


class _OneLineFormatter(logging.Formatter):
    """``logger: LEVEL: message``, with an exception as ``(Type: text)`` on the same line."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message += f" ({type(exc).__name__}: {exc})"
        line = " ".join(f"{record.name}: {record.levelname}: {message}".splitlines())
        return line if len(line) <= _MAX_LOG_CHARS else line[:_MAX_LOG_CHARS] + "…"


def configure_logging(level: int | str = logging.WARNING) -> None:
    """Send log records to stderr as plain single lines, never tracebacks; call before building a server.

    The SDK's ``MCPServer`` calls ``logging.basicConfig`` with a rich handler that renders
    tracebacks (a deep ``RecursionError`` took minutes to draw, and the server answered nothing
    meanwhile). Once the root logger has this handler, that call changes nothing.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
