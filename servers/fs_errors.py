"""The error boundary of the fs tools: whatever a tool raises, the model gets one clear line.

A 1,100-level path once raised ``RecursionError``; the SDK logged it as a crash with a rich
traceback and the server was unresponsive for 847 s. Now every exception becomes a ``ToolError``
whose text names the path and the problem, and nothing but a one-line warning reaches the log.
"""

from __future__ import annotations

import errno
import functools
import inspect
import logging
from collections.abc import Callable
from typing import ParamSpec

__all__ = ["MAX_MESSAGE_CHARS", "describe_error", "tool_errors"]

MAX_MESSAGE_CHARS = 500

_P = ParamSpec("_P")
_logger = logging.getLogger("servers.fs")
_REASONS = {
    errno.ENOENT: "no such file or directory",
    errno.ENOTDIR: "not a directory",
    errno.EISDIR: "is a directory",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EEXIST: "a file is in the way",
    errno.ENAMETOOLONG: "a file name is too long",
    errno.ELOOP: "too many levels of symbolic links",
    errno.ENOSPC: "no space left on the device",
    errno.EROFS: "read-only file system",
}


def _one_line(text: str) -> str:
    line = " ".join(text.splitlines())
    return line if len(line) <= MAX_MESSAGE_CHARS else line[:MAX_MESSAGE_CHARS] + "…"


def describe_error(exc: Exception, target: str) -> str:
    """One line for the model: what went wrong with ``target`` (a path or a tool name)."""
    if isinstance(exc, UnicodeDecodeError):
        return _one_line(f"{target} is not UTF-8 text")
    if isinstance(exc, ValueError):
        return _one_line(str(exc))
    if isinstance(exc, OSError):
        if exc.errno is None:
            return _one_line(str(exc))
        reason = _REASONS.get(exc.errno, exc.strerror or type(exc).__name__)
        return _one_line(f"{target}: {reason}")
    return _one_line(f"{target}: unexpected {type(exc).__name__}: {exc}")


def tool_errors(tool: Callable[_P, str]) -> Callable[_P, str]:
    """Wrap a sync tool so that every ``Exception`` it raises becomes a one-line ``ToolError``.

    The message names the call's ``path`` argument (or the tool) and the problem. Errors a caller
    can fix are not logged; anything else is logged as one line with no arguments or traceback.
    """
    from mcp.server.mcpserver.exceptions import ToolError

    signature = inspect.signature(tool)

    @functools.wraps(tool)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> str:
        try:
            return tool(*args, **kwargs)
        except ToolError:
            raise
        except Exception as exc:
            bound = signature.bind_partial(*args, **kwargs).arguments
            target = str(bound.get("path", tool.__name__))
            if not isinstance(exc, OSError | ValueError):
                _logger.warning("tool %s failed unexpectedly: %s", tool.__name__, type(exc).__name__)
            raise ToolError(describe_error(exc, target)) from exc

    return wrapper
