"""``--server SPEC``: a configured name, a bundled server, a command line, or a URL.

Bundled servers (the top-level ``servers/`` package) run with the running interpreter as
``python -P -m servers.<name>``: ``-P`` keeps a ``servers/`` directory in the working
directory from shadowing ours. Paths in their arguments are made absolute against ``cwd``.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from agent.config.providers import check_http_url
from agent.config.servers import BUNDLED_SERVERS, HttpServerConfig, ServerConfig, StdioServerConfig
from agent.errors import ConfigError

__all__ = ["BUNDLED_SERVERS", "bundled_server", "resolve_server"]

_SOURCE = "--server"


def resolve_server(
    spec: str, configured: Mapping[str, ServerConfig], *, cwd: Path
) -> tuple[str, ServerConfig]:
    """Turn one ``--server`` value into a server name and its configuration.

    In order: a name in ``configured``; a bundled server with optional arguments after a colon
    (``fs``, ``fs:/data,/other``, ``sqlite:path/to.db``, ``calc``); an ``http(s)://`` URL
    (named after its host; a path ending in ``/sse`` means the SSE transport); a string with
    whitespace, run as a stdio command line named after the executable.

    Raises:
        ConfigError: the spec is none of these, or a bundled server's arguments are wrong.
    """
    spec = spec.strip()
    if not spec:
        raise ConfigError("expected a server name, bundled server, command line or URL", source=_SOURCE)
    if spec in configured:
        return spec, configured[spec]
    name, _, argument = spec.partition(":")
    if name in BUNDLED_SERVERS:
        return name, bundled_server(name, argument, cwd=cwd)
    if spec.startswith(("http://", "https://")):
        return _url_server(spec)
    if any(char.isspace() for char in spec):
        return _command_line_server(spec)
    known = ", ".join(configured) or "none"
    raise ConfigError(
        f"unknown server {spec!r}; expected a configured server ({known}), a bundled server "
        f"({', '.join(BUNDLED_SERVERS)}), a command line or an http(s) URL",
        source=_SOURCE,
    )


def bundled_server(name: str, argument: str, *, cwd: Path) -> StdioServerConfig:
    """The stdio config that runs bundled server ``name`` with the running interpreter.

    Args:
        name: ``fs``, ``sqlite`` or ``calc``.
        argument: the text after the colon: comma-separated roots for ``fs`` (default ``cwd``),
            the database path for ``sqlite`` (required), nothing for ``calc``.
        cwd: what relative paths are relative to.
    """
    argument = argument.strip()
    if name == "fs":
        roots = [part.strip() for part in argument.split(",") if part.strip()] or ["."]
        paths = [_absolute(root, cwd) for root in roots]
        for path in paths:
            if not path.is_dir():
                raise ConfigError(f"fs: directory not found: {path}", source=_SOURCE)
        extra = [str(path) for path in paths]
    elif name == "sqlite":
        if not argument:
            raise ConfigError("sqlite needs a database path, e.g. sqlite:data/app.db", source=_SOURCE)
        path = _absolute(argument, cwd)
        if not path.is_file():
            raise ConfigError(f"sqlite: database file not found: {path}", source=_SOURCE)
        extra = [str(path)]
    elif name == "calc":
        if argument:
            raise ConfigError(f"calc takes no arguments, got {argument!r}", source=_SOURCE)
        extra = []
    else:
        raise ConfigError(
            f"unknown bundled server {name!r}; expected one of: {', '.join(BUNDLED_SERVERS)}", source=_SOURCE
        )
    return StdioServerConfig(command=sys.executable, args=["-P", "-m", f"servers.{name}", *extra])


def _absolute(text: str, cwd: Path) -> Path:
    return (cwd / Path(text).expanduser()).resolve()


def _url_server(spec: str) -> tuple[str, HttpServerConfig]:
    try:
        url = check_http_url(spec)
    except ValueError as exc:
        raise ConfigError(f"{exc}, got {spec!r}", source=_SOURCE) from None
    parts = urlsplit(url)
    kind = "sse" if parts.path.rstrip("/").endswith("/sse") else "streamable-http"
    return parts.hostname or parts.netloc, HttpServerConfig(url=url, type=kind)


def _command_line_server(spec: str) -> tuple[str, StdioServerConfig]:
    try:
        argv = shlex.split(spec)
    except ValueError as exc:
        raise ConfigError(f"cannot parse the command line: {exc}", source=_SOURCE) from None
    return Path(argv[0]).name, StdioServerConfig(command=argv[0], args=argv[1:])
