"""What the commands share: the endpoint, the prompt, the servers, and turning failures into exit codes."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from agent.cli.exit_codes import EXIT_INTERRUPTED
from agent.cli.render import describe_error
from agent.errors import AgentError, ConfigError

if TYPE_CHECKING:
    from agent.config.providers import ProviderConfig
    from agent.config.servers import ServerConfig

__all__ = [
    "Endpoint",
    "check_choice",
    "first_agent_error",
    "internal_error",
    "open_endpoint",
    "read_prompt",
    "remember_no_native_tools",
    "resolve_servers",
    "run_command",
    "run_sync",
    "warn",
]


def warn(message: str, level: str = "warning") -> None:
    """One line for the user on stderr."""
    sys.stderr.write(f"{level}: {message}\n")
    sys.stderr.flush()


def check_choice(value: str | None, choices: Sequence[str], source: str) -> None:
    """Refuse a flag value outside ``choices`` (one line naming the flag)."""
    if value is not None and value not in choices:
        raise ConfigError(f"expected one of {', '.join(choices)}, got {value!r}", source=source)


@dataclass(frozen=True)
class Endpoint:
    """The provider a command talks to, with the environment its files were expanded from."""

    provider: ProviderConfig
    env: dict[str, str]
    cwd: Path
    config_dir: Path | None

    @property
    def base_url(self) -> str:
        """The API root (``OPENROUTER_BASE_URL`` applied)."""
        return self.provider.config.api_endpoint

    def optional_key(self) -> str | None:
        """The API key if one is configured (the catalog needs none)."""
        try:
            return self.provider.require_api_key()
        except ConfigError:
            return None


def open_endpoint(provider: str | None, config: Path | None, *, interactive: bool = True) -> Endpoint:
    """Load the provider's file (``--provider``, ``--config``, ``.env`` in a trusted working directory).

    An untrusted working directory's files are asked about at a terminal (``interactive``), or
    ignored with one warning line.

    Raises:
        ConfigError: the provider or its file is wrong.
    """
    from agent.cli.trust import settle_project_trust
    from agent.config.env import environment
    from agent.config.providers import load_provider

    settle_project_trust(interactive=interactive)
    cwd = Path.cwd()
    env = environment(cwd)
    loaded = load_provider(provider, explicit=config, cwd=cwd, env=env)
    config_dir = config if config is not None and config.is_dir() else None
    return Endpoint(loaded, env, cwd, config_dir)


def read_prompt(prompt: str) -> str:
    """The prompt, read from stdin when it is ``-``."""
    if prompt != "-":
        return prompt
    text = sys.stdin.read()
    if not text.strip():
        raise ConfigError("the prompt read from stdin is empty", source="PROMPT '-'")
    return text


def resolve_servers(
    specs: Sequence[str], mcp_config: Path | None, cwd: Path, env: Mapping[str, str]
) -> dict[str, ServerConfig]:
    """The servers named by ``--server`` specs (two specs with one name become ``name``, ``name-2``)."""
    from agent.config.server_spec import resolve_server
    from agent.config.servers import find_mcp_config, load_mcp_config

    path = find_mcp_config(mcp_config, cwd, env)
    configured = load_mcp_config(path, env=env) if path is not None else {}
    resolved: dict[str, ServerConfig] = {}
    for spec in specs:
        name, server = resolve_server(spec, configured, cwd=cwd)
        unique, n = name, 1
        while unique in resolved:
            n += 1
            unique = f"{name}-{n}"
        resolved[unique] = server
    return resolved


def remember_no_native_tools(env: Mapping[str, str], base_url: str, model: str) -> None:
    """Record that ``model`` has no tool endpoints, so later runs start on the text protocol."""
    from agent.cache import user_cache_dir
    from agent.models.probe_store import ProbeStore

    try:
        ProbeStore.in_cache_dir(user_cache_dir(env)).record_no_native_tools(base_url, model)
    except ConfigError as exc:
        warn(f"could not remember the text protocol for {model}: {exc}")


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
        for line in describe_error(exc, verbose=verbose):
            sys.stderr.write(line + "\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug of ours: one line, the traceback only with --verbose
        error = internal_error(exc, verbose=verbose)
        sys.stderr.write(f"error: {error}\n")
        return error.exit_code
