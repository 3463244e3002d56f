"""What the commands share: the endpoint, the prompt, the servers, and turning failures into exit codes."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from agent.cli.exit_codes import EXIT_INTERRUPTED
from agent.cli.render import show_error
from agent.cli.style import write_line
from agent.errors import AgentError, ConfigError

if TYPE_CHECKING:
    from agent.core.endpoint import Endpoint

__all__ = [
    "check_choice",
    "first_agent_error",
    "internal_error",
    "open_endpoint",
    "read_prompt",
    "run_command",
    "run_sync",
    "warn",
]


def warn(message: str, level: str = "warning") -> None:
    """One line for the user on stderr (coloured by its level at a terminal, above a live display)."""
    write_line(sys.stderr, f"{level}: {message}")


def check_choice(value: str | None, choices: Sequence[str], source: str) -> None:
    """Refuse a flag value outside ``choices`` (one line naming the flag)."""
    if value is not None and value not in choices:
        raise ConfigError(f"expected one of {', '.join(choices)}, got {value!r}", source=source)


def open_endpoint(provider: str | None, config: Path | None, *, interactive: bool = True) -> Endpoint:
    """Ask about (or warn of) an untrusted working directory, then load the provider (see the core)."""
    from agent.cli.trust import settle_project_trust
    from agent.core.endpoint import open_endpoint as load

    settle_project_trust(interactive=interactive)
    return load(provider, config)


def read_prompt(prompt: str) -> str:
    """The prompt, read from stdin when it is ``-``.

    Raises:
        ConfigError: the prompt is empty or only whitespace (exit 2, before anything starts).
    """
    if prompt != "-":
        if not prompt.strip():
            raise ConfigError("the prompt is empty; give the task as PROMPT, or '-' to read it from stdin")
        return prompt
    text = sys.stdin.read()
    if not text.strip():
        raise ConfigError("the prompt read from stdin is empty", source="PROMPT '-'")
    return text


def first_agent_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error a task group wrapped: the first AgentError (or interrupt) inside, else the group."""
    for exc in group.exceptions:
        inner = first_agent_error(exc) if isinstance(exc, BaseExceptionGroup) else exc
        if isinstance(inner, AgentError | KeyboardInterrupt):
            return inner
    return group


def internal_error(exc: Exception, *, verbose: bool) -> AgentError:
    """An unexpected exception as one line; with ``verbose`` its traceback goes to stderr first."""
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    hint = "" if verbose else " (run with --verbose for the traceback)"
    return AgentError(f"internal error: {type(exc).__name__}: {exc}{hint}")


def run_command(main: Callable[[], Awaitable[int]], *, verbose: bool = False) -> int:
    """Run an async command body; a user's mistake or a provider failure is one line and its exit code."""
    return run_sync(lambda: anyio.run(main), verbose=verbose)


def run_sync(body: Callable[[], int], *, verbose: bool = False) -> int:
    """Run a command body; a user's mistake or a provider failure is one line and its exit code."""
    try:
        try:
            return body()
        except BaseExceptionGroup as group:
            raise first_agent_error(group) from group
    except AgentError as exc:
        show_error(exc, verbose=verbose)
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug of ours: one line, the traceback only with --verbose
        error = internal_error(exc, verbose=verbose)
        sys.stderr.write(f"error: {error}\n")
        return error.exit_code
