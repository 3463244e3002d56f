"""MCP server configuration in the de-facto ``mcpServers`` format (Claude Desktop, Cursor).

``{"mcpServers": {"name": {"command": ..., "args": [...], "env": {...}, "cwd": ...}}}`` for
stdio servers, ``{"url": ..., "headers": {...}, "type": "http" | "streamable-http" | "sse"}``
for HTTP ones; YAML of the same shape is accepted (by extension). Our optional per-entry fields:
``startup_timeout``, ``tool_timeout``, ``mode``, ``disabled``, ``allow`` and ``deny`` (globs on
the server's tool names, see :mod:`agent.policy`), and for HTTP entries ``oauth``
(see :class:`OAuthConfig`). Keys starting with ``_`` are comments and ignored. Every string is
``${VAR}``-expanded, except in disabled entries.

``mode`` says which MCP protocol era to speak (see :data:`ConnectMode`): left out, the client
probes ``server/discover`` once and remembers the answer for this entry; ``auto`` probes at every
start; ``legacy`` uses the ``initialize`` handshake (2025-11-25 and older) without probing;
``2026-07-28`` speaks that stateless revision only, and a server that does not is a start failure.

Stdio servers get only the SDK's minimal environment plus ``env``: nothing else is inherited.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
)

from agent.config.env import environment, expand_tree
from agent.config.files import read_document, validate
from agent.config.paths import MCP_FILE_NAMES, config_dirs
from agent.config.providers import check_http_url
from agent.errors import ConfigError
from agent.policy import check_server_glob

__all__ = [
    "BUNDLED_SERVERS",
    "DEFAULT_STARTUP_TIMEOUT",
    "ConnectMode",
    "HttpServerConfig",
    "OAuthConfig",
    "ServerConfig",
    "StdioServerConfig",
    "find_mcp_config",
    "load_mcp_config",
    "load_mcp_document",
]

DEFAULT_STARTUP_TIMEOUT = 30.0
BUNDLED_SERVERS = ("calc", "fs", "sqlite")
"""Names of the bundled servers; a configured entry may not take one (it would shadow it)."""
_HTTP_TYPES = ("http", "streamable-http", "sse")

ConnectMode = Literal["legacy", "auto", "2026-07-28"]
"""A pinned protocol era of a server entry: the handshake, a probe at every start, or 2026-07-28."""


_ToolGlob = Annotated[str, AfterValidator(check_server_glob)]


class _ServerBase(BaseModel):
    """Fields of ours that every entry may carry."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    startup_timeout: float = Field(default=DEFAULT_STARTUP_TIMEOUT, gt=0)
    tool_timeout: float | None = Field(default=None, gt=0)
    mode: ConnectMode | None = None
    """The protocol era (see the module docstring); None: probe once, then remember."""
    disabled: bool = False
    allow: list[_ToolGlob] | None = None
    """Globs on this server's tool names: only tools matching one may run (None: every tool)."""
    deny: list[_ToolGlob] = Field(default_factory=list)
    """Globs on this server's tool names: matching tools may not run."""


class StdioServerConfig(_ServerBase):
    """A server started as a subprocess speaking MCP over stdin/stdout."""

    type: Literal["stdio"] = "stdio"
    command: str = Field(min_length=1)
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict, repr=False)
    cwd: str | None = None


class OAuthConfig(BaseModel):
    """How to sign in to an HTTP server that asks for OAuth (all optional).

    Without a ``client_id`` the client registers itself: through ``client_metadata_url`` (a
    client ID metadata document you host) when the authorization server supports those, else
    by dynamic registration. With one, the client is pre-registered: ``client_secret`` (for a
    confidential client) is sent as ``token_endpoint_auth_method`` says, HTTP Basic by default.
    The browser comes back to ``http://127.0.0.1:<callback_port>/callback``; a pre-registered
    client or a metadata document usually needs the port fixed, otherwise it is chosen freely.
    ``enabled: false`` (or ``oauth: false``) turns OAuth off for the server.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    enabled: bool = True
    # Checks sit on the fields after client_secret: an error is shown with the field's value,
    # and the secret's value must never be.
    client_secret: SecretStr | None = None
    client_id: str | None = Field(default=None, min_length=1, validate_default=True)
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post", "none"] | None = None
    client_metadata_url: str | None = None
    callback_port: int | None = Field(default=None, ge=1, le=65535)

    @field_validator("client_id")
    @classmethod
    def _secret_needs_a_client(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("client_secret") is not None:
            raise ValueError("expected a client_id to go with client_secret")
        return value

    @field_validator("token_endpoint_auth_method")
    @classmethod
    def _method_needs_a_secret(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value not in (None, "none") and info.data.get("client_secret") is None:
            raise ValueError(f"expected client_secret to go with {value}")
        return value

    @field_validator("client_metadata_url")
    @classmethod
    def _metadata_url_is_https_with_a_path(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme != "https" or not parts.hostname or parts.path in ("", "/"):
            raise ValueError("expected an https:// URL with a path (a client ID metadata document)")
        return value.strip()


class HttpServerConfig(_ServerBase):
    """A server reached over streamable HTTP (``http``/``streamable-http``) or legacy SSE.

    ``oauth``: left out, OAuth is used when the server asks for it, unless ``headers`` carries an
    ``Authorization`` header of its own; ``false`` never; ``true`` or settings whenever asked.
    """

    type: Literal["http", "streamable-http", "sse"] = "streamable-http"
    url: str
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    oauth: OAuthConfig | None = None

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str) -> str:
        return check_http_url(value)

    @field_validator("oauth", mode="before")
    @classmethod
    def _oauth_switch(cls, value: Any) -> Any:
        """``oauth: true`` / ``false`` are short for the default settings, on or off."""
        return {"enabled": value} if isinstance(value, bool) else value

    @property
    def oauth_settings(self) -> OAuthConfig | None:
        """The OAuth settings in force; ``None`` when this server is not to use OAuth."""
        if self.oauth is None:
            static = any(name.lower() == "authorization" for name in self.headers)
            return None if static else OAuthConfig()
        return self.oauth if self.oauth.enabled else None


ServerConfig = StdioServerConfig | HttpServerConfig


class _McpFile(BaseModel):
    """The top level of an MCP config file (entries are validated one by one)."""

    model_config = ConfigDict(extra="forbid")

    mcpServers: dict[str, Any]  # the de-facto key, camelCase


def load_mcp_config(
    path: Path, *, env: Mapping[str, str] | None = None, include_disabled: bool = False
) -> dict[str, ServerConfig]:
    """Load the servers of an MCP config file, in file order.

    Args:
        path: a ``.json`` file, or YAML of the same shape.
        env: variables to expand from; defaults to ``.env`` in the working directory + os.environ.
        include_disabled: keep entries with ``disabled: true`` (unexpanded), e.g. for listing.

    Raises:
        ConfigError: the file is missing or malformed, or an entry is invalid or uses an unset
            variable; the message names the file and the field (``mcpServers.fs.args[0]``).
    """
    return load_mcp_document(
        read_document(path),
        source=str(path),
        base_dir=path.parent.absolute(),
        env=env,
        include_disabled=include_disabled,
    )


def load_mcp_document(
    document: Mapping[str, Any],
    *,
    source: str,
    base_dir: Path,
    env: Mapping[str, str] | None = None,
    include_disabled: bool = False,
) -> dict[str, ServerConfig]:
    """Load the servers of an ``{"mcpServers": {...}}`` mapping (a file's content, or built in code).

    Args:
        document: the mapping.
        source: how messages name where it came from.
        base_dir: what a relative ``cwd`` of an entry is relative to.
        env: variables to expand from; defaults to ``.env`` in the working directory + os.environ.
        include_disabled: keep entries with ``disabled: true`` (unexpanded).

    Raises:
        ConfigError: an entry is invalid or uses an unset variable.
    """
    variables = environment(Path.cwd()) if env is None else env
    top = validate(_McpFile, _without_comments(dict(document)), source=source)
    servers: dict[str, ServerConfig] = {}
    for name, entry in top.mcpServers.items():
        prefix = f"mcpServers.{name}"
        if not name.strip():
            raise ConfigError("expected non-empty server names", source=source, field="mcpServers")
        if not name.isprintable():
            raise ConfigError(
                "expected a server name without control characters", source=source, field=prefix
            )
        if name in BUNDLED_SERVERS:
            raise ConfigError(
                f"the name {name!r} belongs to the bundled server {name!r} (--server {name}); "
                "give this entry another name",
                source=source,
                field=prefix,
            )
        if not isinstance(entry, dict):
            raise ConfigError("expected a mapping with 'command' or 'url'", source=source, field=prefix)
        entry = _without_comments(entry)
        disabled = entry.get("disabled") is True
        if disabled and not include_disabled:
            continue
        model = _entry_model(entry, source, prefix)
        data = entry if disabled else expand_tree(entry, variables, source, prefix)
        config = validate(model, data, source=source, prefix=prefix, template=entry)
        if isinstance(config, StdioServerConfig) and config.cwd is not None:
            # A relative cwd means relative to the config file, wherever the agent runs.
            cwd = base_dir / Path(config.cwd).expanduser()
            config = config.model_copy(update={"cwd": str(cwd)})
        servers[name] = config
    return servers


def _without_comments(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without keys starting with ``_`` (JSON has no comments; ``_comment`` is one)."""
    return {key: value for key, value in data.items() if not (isinstance(key, str) and key.startswith("_"))}


def _entry_model(entry: dict[str, Any], source: str, prefix: str) -> type[ServerConfig]:
    """Which kind of server an entry describes, from its keys (``type`` is optional)."""
    if "command" in entry and "url" in entry:
        raise ConfigError(
            "expected either 'command' (stdio server) or 'url' (HTTP server), not both",
            source=source,
            field=prefix,
        )
    if "url" in entry or entry.get("type") in _HTTP_TYPES:
        return HttpServerConfig
    if "command" in entry or entry.get("type") == "stdio":
        return StdioServerConfig
    raise ConfigError("expected 'command' (stdio server) or 'url' (HTTP server)", source=source, field=prefix)


def find_mcp_config(explicit: Path | None, cwd: Path, env: Mapping[str, str] | None = None) -> Path | None:
    """The MCP config file to use: ``explicit`` (file or directory), else the first found.

    Looks for ``mcp.json``, ``mcp.yaml``, ``mcp.yml`` in ``./config/``, then the user config
    directory, then the bundled defaults (which ship only an example, so normally none).

    Raises:
        ConfigError: an explicit path does not exist or holds no MCP config.
    """
    if explicit is not None:
        if explicit.is_file():
            return explicit
        if not explicit.is_dir():
            raise ConfigError("file not found", source=str(explicit))
        found = _first_mcp_file(explicit)
        if found is None:
            raise ConfigError(f"no {', '.join(MCP_FILE_NAMES)} in this directory", source=str(explicit))
        return found
    for directory in config_dirs(cwd, os.environ if env is None else env):
        found = _first_mcp_file(directory)
        if found is not None:
            return found
    return None


def _first_mcp_file(directory: Path) -> Path | None:
    for name in MCP_FILE_NAMES:
        if (directory / name).is_file():
            return directory / name
    return None
