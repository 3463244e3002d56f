"""Which MCP servers an agent attaches: the MCP config's enabled servers, or the ones named.

With no ``servers`` named, every enabled server of the MCP config in force is attached (as
Claude Desktop, Cursor and the original mcp-cli do); its disabled ones are reported as such.
``servers`` names some of them or adds specs (bundled servers, command lines, URLs);
``no_servers`` attaches none. Naming a disabled server is an error that says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.config.server_spec import resolve_server
from agent.config.servers import ServerConfig, find_mcp_config, load_mcp_config, load_mcp_document
from agent.core.endpoint import Endpoint
from agent.errors import ConfigError
from agent.options import AgentOptions

if TYPE_CHECKING:
    from agent.mcp.targets import ServerTarget

__all__ = ["ServerPlan", "plan_servers"]


@dataclass(frozen=True)
class ServerPlan:
    """The servers to start, and the configured ones left out because they are disabled."""

    targets: dict[str, ServerTarget] = field(default_factory=dict)
    disabled: list[str] = field(default_factory=list)
    source: str | None = None


def plan_servers(
    options: AgentOptions, endpoint: Endpoint, extra: Mapping[str, ServerTarget] | None = None
) -> ServerPlan:
    """The servers ``options`` ask for (see the module docstring), plus ``extra`` ones given in code.

    Raises:
        ConfigError: the MCP config is wrong, a spec names nothing, or names a disabled server.
    """
    extra_targets = dict(extra or {})
    if options.no_servers:
        return ServerPlan(extra_targets)
    configured, source = _configured(options.mcp_config, endpoint)
    enabled = {name: cfg for name, cfg in configured.items() if not cfg.disabled}
    disabled = [name for name, cfg in configured.items() if cfg.disabled]
    if not options.servers:
        return ServerPlan({**enabled, **extra_targets}, disabled, source)
    targets: dict[str, ServerTarget] = {}
    for spec in options.servers:
        if spec.strip() in disabled:
            raise ConfigError(
                f'server {spec.strip()!r} is disabled in {source}; remove its "disabled": true to use it',
                source="--server",
            )
        name, server = resolve_server(spec, enabled, cwd=endpoint.cwd)
        unique, n = name, 1
        while unique in targets or unique in extra_targets:
            n += 1
            unique = f"{name}-{n}"
        targets[unique] = server
    return ServerPlan({**targets, **extra_targets}, [], source)


def _configured(
    mcp_config: Path | dict[str, Any] | None, endpoint: Endpoint
) -> tuple[dict[str, ServerConfig], str | None]:
    """Every entry of the MCP config in force (disabled ones unexpanded), and where it came from."""
    if isinstance(mcp_config, dict):
        source = "mcp_config"
        servers = load_mcp_document(
            mcp_config, source=source, base_dir=endpoint.cwd, env=endpoint.env, include_disabled=True
        )
        return servers, source
    path = find_mcp_config(mcp_config, endpoint.cwd, endpoint.env)
    if path is None:
        return {}, None
    return load_mcp_config(path, env=endpoint.env, include_disabled=True), str(path)
