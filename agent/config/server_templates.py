"""The MCP servers ``agent init`` offers, and ``--server`` specs turned into ``mcpServers`` entries.

The bundled servers become entries that run them with the running interpreter
(``${AGENT_PYTHON} -P -m servers.fs .``); the common reference servers are the ``npx``/``uvx``
command lines people use; any other command line is named after the package it runs.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agent.config.env import PYTHON_VARIABLE
from agent.config.providers import check_http_url
from agent.errors import ConfigError

__all__ = ["SERVER_TEMPLATES", "ServerTemplate", "server_entry"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class ServerTemplate:
    """A server ``agent init`` offers by name: the bundled ones and common reference servers.

    Attributes:
        key: what the menu and ``--server`` call it (``memory``).
        description: one line for the menu.
        argv: the command line (``${AGENT_PYTHON}`` runs a bundled server with our interpreter).
        argument: what the one extra argument is (``directory``), if the server takes one.
        default: the argument when none is given (``.``: where agent runs); ``None``: required.
    """

    key: str
    description: str
    argv: tuple[str, ...]
    argument: str | None = None
    default: str | None = None

    def entry(self, argument: str | None, cwd: Path) -> dict[str, Any]:
        """The ``mcpServers`` entry, with the argument checked and made absolute (``.`` stays).

        Raises:
            ConfigError: the argument is missing, or names a directory or file that is not there.
        """
        args = list(self.argv[1:])
        if self.argument is not None:
            given = (argument or "").strip() or self.default
            if not given:
                raise ConfigError(
                    f"{self.key} needs a {self.argument}, e.g. {self.key}:PATH", source="--server"
                )
            args.append(_path_argument(given, self.argument, cwd))
        elif argument:
            raise ConfigError(f"{self.key} takes no argument, got {argument!r}", source="--server")
        return {"command": self.argv[0], "args": args}


def _path_argument(text: str, what: str, cwd: Path) -> str:
    """``.`` as it is (the directory agent runs in); anything else absolute, and checked."""
    if text == ".":
        return text
    path = (cwd / Path(text).expanduser()).resolve()
    exists = path.is_dir() if what == "directory" else path.is_file()
    if not exists:
        raise ConfigError(f"{what} not found: {path}", source="--server")
    return str(path)


_BUNDLED = f"${{{PYTHON_VARIABLE}}}"
SERVER_TEMPLATES: tuple[ServerTemplate, ...] = (
    ServerTemplate(
        "files",
        "bundled: read-only files of a directory ('.': the one agent runs in)",
        (_BUNDLED, "-P", "-m", "servers.fs"),
        "directory",
        ".",
    ),
    ServerTemplate("calculator", "bundled: exact arithmetic", (_BUNDLED, "-P", "-m", "servers.calc")),
    ServerTemplate(
        "db",
        "bundled: a SQLite database, read-only",
        (_BUNDLED, "-P", "-m", "servers.sqlite"),
        "database file",
    ),
    ServerTemplate(
        "filesystem",
        "read and write files of a directory (Node.js: npx)",
        ("npx", "-y", "@modelcontextprotocol/server-filesystem"),
        "directory",
        ".",
    ),
    ServerTemplate(
        "memory",
        "a knowledge-graph memory (Node.js: npx)",
        ("npx", "-y", "@modelcontextprotocol/server-memory"),
    ),
    ServerTemplate("time", "the time and time zones (uv: uvx)", ("uvx", "mcp-server-time")),
    ServerTemplate("git", "read and search git repositories (uv: uvx)", ("uvx", "mcp-server-git")),
    ServerTemplate("fetch", "fetch web pages as Markdown (uv: uvx)", ("uvx", "mcp-server-fetch")),
)
"""The servers offered by name, bundled first."""
_ALIASES = {"fs": "files", "calc": "calculator", "sqlite": "db"}
"""The bundled servers' ``--server`` names, for the entries that run them."""
_LAUNCHERS = frozenset({"npx", "uvx", "bunx", "pipx", "pnpx", "docker"})


def server_entry(spec: str, cwd: Path) -> tuple[str, dict[str, Any]]:
    """One server to add, as ``(name, mcpServers entry)``.

    ``spec`` is ``NAME=SPEC`` (naming the entry), or: a server of :data:`SERVER_TEMPLATES` with
    an optional ``:ARGUMENT`` (``files:~/notes``, ``db:shop.db``; ``fs``, ``calc`` and
    ``sqlite`` name the bundled ones too); an ``http(s)://`` URL; a command line
    (``npx -y @modelcontextprotocol/server-memory``, named after the package it runs).

    Raises:
        ConfigError: the spec is none of these, or its argument is wrong.
    """
    spec = spec.strip()
    name: str | None = None
    head, equals, rest = spec.partition("=")
    if equals and _NAME.fullmatch(head.strip()) and rest.strip():
        name, spec = head.strip(), rest.strip()
    key, _, argument = spec.partition(":")
    key = _ALIASES.get(key, key)
    template = next((t for t in SERVER_TEMPLATES if t.key == key), None)
    if template is not None:
        return name or template.key, template.entry(argument, cwd)
    if spec.startswith(("http://", "https://")):
        try:
            url = check_http_url(spec)
        except ValueError as exc:
            raise ConfigError(f"{exc}, got {spec!r}", source="--server") from None
        parts = urlsplit(url)
        entry: dict[str, Any] = {"url": url}
        if parts.path.rstrip("/").endswith("/sse"):
            entry["type"] = "sse"
        return name or parts.hostname or "remote", entry
    if any(char.isspace() for char in spec):
        try:
            argv = shlex.split(spec)
        except ValueError as exc:
            raise ConfigError(f"cannot parse the command line: {exc}", source="--server") from None
        return name or _command_name(argv), {"command": argv[0], "args": argv[1:]}
    known = ", ".join(t.key for t in SERVER_TEMPLATES)
    raise ConfigError(
        f"unknown server {spec!r}; expected one of {known}, a command line or an http(s) URL",
        source="--server",
    )


def _command_name(argv: Sequence[str]) -> str:
    """A name for a command line: the package a launcher runs (``server-memory`` -> ``memory``)."""
    program = Path(argv[0]).name
    target = program
    if program in _LAUNCHERS:
        target = next((a for a in argv[1:] if not a.startswith("-") and a != "run"), program)
    target = target.rsplit("/", 1)[-1].split("@", 1)[0]
    for prefix in ("mcp-server-", "server-", "mcp-"):
        if target.startswith(prefix) and len(target) > len(prefix):
            target = target[len(prefix) :]
            break
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", target).strip("-.")
    return cleaned if cleaned and _NAME.fullmatch(cleaned) else "server"
