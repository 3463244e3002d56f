"""Where config files are looked for: explicit path > trusted ``./config/`` > user config dir > bundled.

A config directory holds ``providers/<name>.yaml`` and ``mcp.json`` (or ``mcp.yaml``/``mcp.yml``).
The bundled defaults are the repository's top-level ``config/`` in a source checkout or
editable install, and ``agent/_bundled_config/`` in a wheel (pyproject force-includes it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import agent

__all__ = [
    "MCP_FILE_NAMES",
    "PROVIDER_SUFFIXES",
    "bundled_config_dir",
    "config_dirs",
    "user_cache_dir",
    "user_config_dir",
    "user_data_dir",
]

PROVIDER_SUFFIXES = (".yaml", ".yml")
MCP_FILE_NAMES = ("mcp.json", "mcp.yaml", "mcp.yml")


def _user_dir(env: Mapping[str, str], cwd: Path | None, override: str, xdg: str, default: str) -> Path:
    """``$override`` if set, else ``$xdg/agent``, else ``~/<default>/agent``; relative to ``cwd``."""
    base = cwd or Path.cwd()
    if env.get(override):
        return base / Path(env[override]).expanduser()
    if env.get(xdg):
        return base / Path(env[xdg]).expanduser() / "agent"
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return home / default / "agent"


def user_config_dir(env: Mapping[str, str], cwd: Path | None = None) -> Path:
    """The per-user config directory (``agent init`` writes there).

    ``$AGENT_CONFIG_DIR`` if set, else ``$XDG_CONFIG_HOME/agent``, else ``~/.config/agent``
    (``~`` from ``$HOME`` in ``env`` when set). Relative values resolve against ``cwd``.
    """
    return _user_dir(env, cwd, "AGENT_CONFIG_DIR", "XDG_CONFIG_HOME", ".config")


def user_data_dir(env: Mapping[str, str], cwd: Path | None = None) -> Path:
    """The per-user data directory (the session store).

    ``$AGENT_DATA_DIR`` if set, else ``$XDG_DATA_HOME/agent``, else ``~/.local/share/agent``.
    """
    return _user_dir(env, cwd, "AGENT_DATA_DIR", "XDG_DATA_HOME", ".local/share")


def user_cache_dir(env: Mapping[str, str], cwd: Path | None = None) -> Path:
    """The per-user cache directory (model catalog, probe results).

    ``$AGENT_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/agent``, else ``~/.cache/agent``
    (``~`` from ``$HOME`` in ``env`` when set). Relative values resolve against ``cwd``.
    """
    return _user_dir(env, cwd, "AGENT_CACHE_DIR", "XDG_CACHE_HOME", ".cache")


def bundled_config_dir() -> Path | None:
    """The config shipped with the package, or ``None`` if this installation has none."""
    package = Path(agent.__file__).resolve().parent
    wheel = package / "_bundled_config"
    if wheel.is_dir():
        return wheel
    checkout = package.parent / "config"
    # Only trust ../config when it looks like ours: in site-packages it could be anything.
    if (checkout / "providers").is_dir() and (package.parent / "pyproject.toml").is_file():
        return checkout
    return None


def config_dirs(cwd: Path, env: Mapping[str, str], explicit_dir: Path | None = None) -> list[Path]:
    """The existing config directories, most important first, without duplicates.

    Args:
        cwd: the working directory (its ``config/`` comes after ``explicit_dir``, and only when
            the user trusts the directory: see :mod:`agent.config.trust`).
        env: the environment, for the user config directory.
        explicit_dir: a directory given with ``--config``, searched first.
    """
    from agent.config.trust import check_project

    project = cwd / "config" if check_project(cwd, env).trusted else None
    candidates = [explicit_dir, project, user_config_dir(env, cwd), bundled_config_dir()]
    found: list[Path] = []
    seen: set[Path] = set()
    for candidate in candidates:
        if candidate is None or not candidate.is_dir():
            continue
        key = candidate.resolve()
        if key not in seen:
            seen.add(key)
            found.append(candidate)
    return found
