"""Project trust: files found in the working directory are used only once the user trusts them.

A repository can ship ``config/providers/*.yaml`` (moving the endpoint that receives the API key),
``config/mcp.json`` (commands the agent runs) and ``.env`` (``OPENROUTER_BASE_URL``, secrets for
``${VAR}``). Running ``agent`` inside a cloned repository must not hand it the user's key or a
shell, so these *project files* are ignored until ``agent trust`` records the directory in the
user config directory (``trusted.json``) together with a hash of each file. A changed, added or
removed file lapses the trust (an approved file edited later is the MCPoison attack).

Trusted without asking: the user config directory, explicit ``--config``/``--mcp-config``, the
real environment and the bundled defaults. ``./config`` counts as bundled or user config when it
*is* that directory (running inside the source checkout, or ``AGENT_CONFIG_DIR=./config``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from agent.config.paths import MCP_FILE_NAMES, PROVIDER_SUFFIXES, bundled_config_dir, user_config_dir
from agent.errors import ConfigError

__all__ = [
    "STORE_NAME",
    "ProjectTrust",
    "check_project",
    "forget_directory",
    "project_files",
    "trust_directory",
    "trusted_directories",
]

STORE_NAME = "trusted.json"
MODELS_FILE_NAMES = ("models.yaml", "models.yml")
_MAX_HASHED = 4 * 1024 * 1024  # per file; config files are small, and the loaders refuse big ones
_MAX_PROVIDER_FILES = 200

TrustStatus = Literal["none", "trusted", "untrusted", "changed"]


@dataclass(frozen=True)
class ProjectTrust:
    """What the working directory holds and whether the user trusts it.

    Attributes:
        directory: the directory, resolved.
        status: ``none`` (no project files), ``trusted``, ``untrusted`` (never trusted) or
            ``changed`` (trusted once, but files changed, appeared or vanished since).
        files: the project files found, relative to ``directory`` (``.env``, ``config/mcp.json``).
        changed: for ``changed``, the files that differ from the trusted ones.
    """

    directory: Path
    status: TrustStatus
    files: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    @property
    def trusted(self) -> bool:
        """Whether the project files may be used (vacuously true when there are none)."""
        return self.status in ("none", "trusted")

    def describe(self) -> str:
        """One line saying what is ignored and why (for ``untrusted`` and ``changed``)."""
        where = str(self.directory)
        if self.status == "changed":
            return (
                f"ignoring {', '.join(self.files or self.changed)} in {where}: "
                f"{', '.join(self.changed)} changed since you trusted this directory "
                "(review, then run 'agent trust' again)"
            )
        return (
            f"ignoring {', '.join(self.files)} in {where}: this directory is not trusted "
            "(review the files, then run 'agent trust' to use them)"
        )


def project_files(directory: Path, env: Mapping[str, str]) -> list[Path]:
    """The files in ``directory`` that configuration would read from it, sorted.

    ``.env``, and under ``config/``: ``providers/*.yaml|yml``, ``mcp.json|yaml|yml`` and
    ``models.yaml|yml``. ``config/`` is left out when it is the bundled or the user config
    directory, which are trusted anyway.
    """
    found: list[Path] = []
    dotenv = directory / ".env"
    if _is_file(dotenv):
        found.append(dotenv)
    config = directory / "config"
    if config.is_dir() and not _is_trusted_elsewhere(config, env):
        for name in (*MCP_FILE_NAMES, *MODELS_FILE_NAMES):
            if _is_file(config / name):
                found.append(config / name)
        providers = config / "providers"
        if providers.is_dir():
            entries = sorted(p for p in providers.iterdir() if p.suffix in PROVIDER_SUFFIXES and _is_file(p))
            found.extend(entries[:_MAX_PROVIDER_FILES])
    return sorted(found, key=lambda path: _relative(path, directory))


def check_project(directory: Path, env: Mapping[str, str]) -> ProjectTrust:
    """Whether the project files in ``directory`` may be used, by the trust store of ``env``'s user.

    Raises:
        ConfigError: the trust store exists but cannot be read or parsed.
    """
    resolved = directory.resolve()
    digests = _digests(resolved, env)
    if not digests:
        return ProjectTrust(resolved, "none")
    names = tuple(digests)
    recorded = _read_store(env).get(str(resolved))
    if recorded is None:
        return ProjectTrust(resolved, "untrusted", names)
    if recorded == digests:
        return ProjectTrust(resolved, "trusted", names)
    differ = sorted(name for name in {*digests, *recorded} if digests.get(name) != recorded.get(name))
    return ProjectTrust(resolved, "changed", names, tuple(differ))


def trust_directory(directory: Path, env: Mapping[str, str]) -> ProjectTrust:
    """Record ``directory`` as trusted with the hashes of its project files as they are now.

    Returns the trust as it now stands (``none`` when there is nothing to trust; nothing is
    recorded then).

    Raises:
        ConfigError: ``directory`` is not a directory, or the store cannot be written.
    """
    if not directory.is_dir():
        raise ConfigError("expected a directory", source=str(directory))
    resolved = directory.resolve()
    digests = _digests(resolved, env)
    if not digests:
        return ProjectTrust(resolved, "none")
    store = _read_store(env)
    store[str(resolved)] = digests
    _write_store(env, store)
    return ProjectTrust(resolved, "trusted", tuple(digests))


def forget_directory(directory: Path, env: Mapping[str, str]) -> bool:
    """Remove ``directory`` from the trust store; whether it was there."""
    store = _read_store(env)
    key = str(directory.resolve())
    if key not in store:
        return False
    del store[key]
    _write_store(env, store)
    return True


def trusted_directories(env: Mapping[str, str]) -> dict[str, list[str]]:
    """The trusted directories and the files trusted in each."""
    return {directory: sorted(files) for directory, files in sorted(_read_store(env).items())}


def _digests(directory: Path, env: Mapping[str, str]) -> dict[str, str]:
    """``{relative name: sha256}`` of the project files (an unreadable file gets a marker)."""
    return {_relative(path, directory): _digest(path) for path in project_files(directory, env)}


def _digest(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            return hashlib.sha256(handle.read(_MAX_HASHED + 1)).hexdigest()
    except OSError as exc:
        return f"unreadable:{type(exc).__name__}"


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _relative(path: Path, directory: Path) -> str:
    return path.relative_to(directory).as_posix()


def _is_trusted_elsewhere(config: Path, env: Mapping[str, str]) -> bool:
    """``./config`` is the bundled defaults or the user config directory itself."""
    here = config.resolve()
    bundled = bundled_config_dir()
    return (bundled is not None and bundled.resolve() == here) or user_config_dir(env).resolve() == here


def _store_path(env: Mapping[str, str]) -> Path:
    return user_config_dir(env) / STORE_NAME


def _read_store(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    path = _store_path(env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the trust store: {type(exc).__name__}", source=str(path)) from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        message = "the trust store is not valid JSON; delete it to start over"
        raise ConfigError(message, source=str(path)) from None
    directories = data.get("directories") if isinstance(data, dict) else None
    if not isinstance(directories, dict):
        raise ConfigError("expected {'directories': {...}}; delete it to start over", source=str(path))
    store: dict[str, dict[str, str]] = {}
    for key, entry in directories.items():
        files = entry.get("files") if isinstance(entry, dict) else None
        if isinstance(files, dict) and all(isinstance(v, str) for v in files.values()):
            store[str(key)] = {str(name): value for name, value in files.items()}
    return store


def _write_store(env: Mapping[str, str], store: dict[str, dict[str, str]]) -> None:
    from agent.cache import write_atomically

    path = _store_path(env)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    data = {"version": 1, "directories": {k: {"files": v, "updated": now} for k, v in sorted(store.items())}}
    try:
        write_atomically(path, json.dumps(data, indent=2) + "\n")
        os.chmod(path, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot write the trust store: {exc.strerror or exc}", source=str(path)) from None
