"""The one place that maps how a run ended to the documented exit code."""

from __future__ import annotations

from agent.errors import AgentError
from agent.result import RunResult

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_LIMIT", "EXIT_OK", "EXIT_USAGE", "exit_code_for"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_LIMIT = 3
EXIT_AUTH = 4
EXIT_INTERRUPTED = 130


def exit_code_for(result: RunResult) -> int:
    """0 completed; 3 a limit stopped the run; else the exit code of the error that ended it."""
    if result.stop_reason == "completed":
        return EXIT_OK
    if result.stop_reason in ("max_turns", "max_cost", "max_tokens", "timeout"):
        return EXIT_LIMIT
    exc = result.exception
    if isinstance(exc, AgentError):
        return exc.exit_code
    return EXIT_ERROR
