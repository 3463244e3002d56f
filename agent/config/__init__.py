"""Configuration: provider YAML, MCP server config, ``${VAR}`` expansion and lookup order.

Pipeline for every file: parse (YAML/JSON) -> expand ``${VAR}`` strictly -> validate with
``extra="forbid"`` models; any mistake is one :class:`~agent.errors.ConfigError` line naming the
file, the field and what was expected. Lookup order: explicit path > ``./config/`` > user config
directory > bundled defaults.
"""

from agent.config.env import environment, expand, expand_tree, load_dotenv
from agent.config.paths import bundled_config_dir, config_dirs, user_config_dir
from agent.config.providers import (
    DEFAULT_PROVIDER,
    ProviderConfig,
    ProviderSettings,
    available_providers,
    load_provider,
)
from agent.config.server_spec import BUNDLED_SERVERS, bundled_server, resolve_server
from agent.config.servers import (
    HttpServerConfig,
    ServerConfig,
    StdioServerConfig,
    find_mcp_config,
    load_mcp_config,
)

__all__ = [
    "BUNDLED_SERVERS",
    "DEFAULT_PROVIDER",
    "HttpServerConfig",
    "ProviderConfig",
    "ProviderSettings",
    "ServerConfig",
    "StdioServerConfig",
    "available_providers",
    "bundled_config_dir",
    "bundled_server",
    "config_dirs",
    "environment",
    "expand",
    "expand_tree",
    "find_mcp_config",
    "load_dotenv",
    "load_mcp_config",
    "load_provider",
    "resolve_server",
    "user_config_dir",
]
