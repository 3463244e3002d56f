"""What configuration is in force: the files used and ignored, and the effective values.

:func:`inspect_config` answers ``agent config``; nothing here prints. Secrets never enter the
report: the API key is masked (:func:`agent.config.setup.mask_key`), header and ``env`` values
of servers are named, not shown, and command lines and URLs are redacted. A file in force that
is wrong does not stop the report: its one-line error is in :attr:`ConfigReport.problems`.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.config.env import SECRETS_FILE, environment, load_dotenv
from agent.config.files import read_document
from agent.config.paths import bundled_config_dir, config_dirs, user_config_dir
from agent.config.servers import HttpServerConfig, ServerConfig, find_mcp_config, load_mcp_config
from agent.config.setup import mask_key
from agent.config.trust import MODELS_FILE_NAMES, ProjectTrust, check_project
from agent.errors import ConfigError
from agent.redaction import redact

__all__ = ["ConfigFile", "ConfigReport", "inspect_config"]

_BASE_URL_VARIABLE = "OPENROUTER_BASE_URL"


@dataclass(frozen=True)
class ConfigFile:
    """One file configuration reads, or would read if it were trusted.

    Attributes:
        role: ``provider``, ``mcp``, ``models``, ``secrets`` (the user's ``secrets.env``) or
            ``env`` (the working directory's ``.env``).
        path: the file, absolute.
        used: whether it is in force (``False``: ignored, see ``note``).
        note: why it is ignored, or what it holds (variable names, never values).
    """

    role: str
    path: str
    used: bool
    note: str = ""


@dataclass
class ConfigReport:
    """The configuration in force for one working directory, provider and MCP config.

    Attributes:
        cwd: the working directory.
        directories: ``(role, path)`` of each config directory, most important first (roles:
            ``--config``, ``project``, ``user``, ``bundled``).
        files: the files read or ignored.
        ignored: the line saying which project files are ignored and why (``None``: none are).
        provider: the provider's effective values (``None`` when it could not be loaded).
        mcp_config: the MCP config file in force, if any.
        servers: its servers (disabled ones included).
        problems: one line per file in force that is wrong.
    """

    cwd: str
    directories: list[tuple[str, str]] = field(default_factory=list)
    files: list[ConfigFile] = field(default_factory=list)
    ignored: str | None = None
    provider: dict[str, Any] | None = None
    mcp_config: str | None = None
    servers: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The report as ``agent config --json`` prints it."""
        data = asdict(self)
        data["directories"] = [{"role": role, "path": path} for role, path in self.directories]
        return data


def inspect_config(
    *,
    provider: str | None,
    config: Path | None,
    mcp_config: Path | None,
    cwd: Path,
    env: Mapping[str, str],
) -> ConfigReport:
    """What ``agent run`` would use here with these flags, and what it would ignore.

    Args:
        provider: ``-p``: the provider's name (default: the explicit file's, else openrouter).
        config: ``--config``: a provider file or a config directory.
        mcp_config: ``--mcp-config``: the MCP servers file.
        cwd: the working directory.
        env: the real environment.
    """
    report = ConfigReport(cwd=str(cwd))
    explicit_dir = config if config is not None and config.is_dir() else None
    project = check_project(cwd, env)
    report.directories = _directories(cwd, env, explicit_dir)
    _env_files(report, cwd, env, project)
    variables = _variables(report, cwd, env)
    _provider(report, provider, config, cwd, env, variables)
    _servers(report, mcp_config, cwd, env, variables)
    for _, directory in report.directories:
        found = next(
            (Path(directory) / n for n in MODELS_FILE_NAMES if (Path(directory) / n).is_file()), None
        )
        if found is not None:
            report.files.append(ConfigFile("models", str(found), used=True))
    if not project.trusted:
        report.ignored = project.describe()
        report.files.extend(
            ConfigFile("project", str(project.directory / name), used=False, note="not trusted")
            for name in project.files
            if name != ".env"
        )
    return report


def _directories(cwd: Path, env: Mapping[str, str], explicit_dir: Path | None) -> list[tuple[str, str]]:
    user = user_config_dir(env, cwd).resolve()
    bundled = bundled_config_dir()
    named: list[tuple[str, str]] = []
    for directory in config_dirs(cwd, env, explicit_dir):
        resolved = directory.resolve()
        if explicit_dir is not None and resolved == explicit_dir.resolve():
            role = "--config"
        elif resolved == user:
            role = "user"
        elif bundled is not None and resolved == bundled.resolve():
            role = "bundled"
        else:
            role = "project"
        named.append((role, str(resolved)))
    return named


def _env_files(report: ConfigReport, cwd: Path, env: Mapping[str, str], project: ProjectTrust) -> None:
    secrets = user_config_dir(env, cwd) / SECRETS_FILE
    if secrets.is_file():
        report.files.append(
            ConfigFile("secrets", str(secrets.resolve()), used=True, note=_names(secrets, report))
        )
    dotenv = cwd / ".env"
    if dotenv.is_file():
        if project.trusted:
            report.files.append(
                ConfigFile("env", str(dotenv.resolve()), used=True, note=_names(dotenv, report))
            )
        else:
            report.files.append(ConfigFile("env", str(dotenv.resolve()), used=False, note="not trusted"))


def _names(path: Path, report: ConfigReport) -> str:
    """The variables a ``.env``-style file sets (names only)."""
    try:
        names = sorted(load_dotenv(path))
    except ConfigError as exc:
        report.problems.append(str(exc))
        return "unreadable"
    return "sets " + ", ".join(names) if names else "sets nothing"


def _variables(report: ConfigReport, cwd: Path, env: Mapping[str, str]) -> dict[str, str]:
    try:
        return environment(cwd, env)
    except ConfigError as exc:
        if str(exc) not in report.problems:
            report.problems.append(str(exc))
        return dict(env)


def _provider(
    report: ConfigReport,
    name: str | None,
    config: Path | None,
    cwd: Path,
    env: Mapping[str, str],
    variables: Mapping[str, str],
) -> None:
    from agent.config.providers import load_provider

    try:
        loaded = load_provider(name, explicit=config, cwd=cwd, env=variables)
    except ConfigError as exc:
        report.problems.append(str(exc))
        return
    path = (cwd / loaded.source).resolve() if loaded.source else None
    if path is not None:
        report.files.insert(0, ConfigFile("provider", str(path), used=True))
    settings = loaded.config
    template = _key_template(path)
    try:
        key: str | None = loaded.require_api_key()
        key_problem = None
    except ConfigError as exc:
        key, key_problem = None, str(exc)
    moved = bool(env.get(_BASE_URL_VARIABLE)) and loaded.provider_name == "openrouter"
    report.provider = {
        "name": loaded.provider_name,
        "file": str(path) if path else None,
        "endpoint": settings.api_endpoint,
        "endpoint_from": _BASE_URL_VARIABLE if moved else "the provider file",
        "api_key": {
            "set": key is not None,
            "shown": mask_key(key) if key else None,
            "from": _key_source(template, cwd, env) if key else None,
            "problem": redact(key_problem, [key]) if key_problem else None,
        },
        "default_model": settings.default_model,
        "timeout_seconds": settings.timeout_seconds,
        "max_retries": settings.max_retries,
        "context_window": settings.context_window,
        "reserve_tokens": settings.reserve_tokens,
        "fallback_models": list(settings.fallback_models),
        "provider_routing": settings.provider.model_dump(mode="json", exclude_none=True)
        if settings.provider
        else None,
        "reasoning": settings.reasoning.model_dump(mode="json", exclude_none=True)
        if settings.reasoning
        else None,
        "prompt_cache": settings.prompt_cache,
        "auto_fallback": settings.auto_fallback,
        "headers": sorted(settings.headers),
    }


def _key_template(path: Path | None) -> str | None:
    """The provider file's ``api_key`` as written (``${OPENROUTER_API_KEY}``)."""
    if path is None:
        return None
    try:
        settings = read_document(path).get("config")
    except ConfigError:
        return None
    template = settings.get("api_key") if isinstance(settings, dict) else None
    return template if isinstance(template, str) else None


def _key_source(template: str | None, cwd: Path, env: Mapping[str, str]) -> str:
    """Where the key came from: a variable of the environment, ``secrets.env`` or ``.env``, or the file."""
    import re

    match = re.search(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", template or "")
    if match is None:
        return "the provider file"
    variable = match.group(1)
    if env.get(variable):
        return f"environment variable {variable}"
    dotenv = cwd / ".env"
    for path in (dotenv, user_config_dir(env, cwd) / SECRETS_FILE):
        try:
            if (
                path.is_file()
                and (path != dotenv or check_project(cwd, env).trusted)
                and load_dotenv(path).get(variable)
            ):
                return f"{variable} in {path.resolve()}"
        except ConfigError:
            continue
    return f"the default in {template}"


def _servers(
    report: ConfigReport,
    explicit: Path | None,
    cwd: Path,
    env: Mapping[str, str],
    variables: Mapping[str, str],
) -> None:
    try:
        path = find_mcp_config(explicit, cwd, env)
        if path is None:
            return
        report.mcp_config = str(path.resolve())
        report.files.append(ConfigFile("mcp", report.mcp_config, used=True))
        servers = load_mcp_config(path, env=variables, include_disabled=True)
    except ConfigError as exc:
        report.problems.append(str(exc))
        return
    secrets = [value for name, value in variables.items() if name.endswith(("KEY", "TOKEN", "SECRET"))]
    report.servers = [_server(name, server, secrets) for name, server in servers.items()]


def _server(name: str, server: ServerConfig, secrets: list[str]) -> dict[str, Any]:
    if isinstance(server, HttpServerConfig):
        return {
            "name": name,
            "transport": server.type,
            "url": redact(server.url, secrets),
            "headers": sorted(server.headers),
            "disabled": server.disabled,
        }
    command = shlex.join([server.command, *server.args])
    return {
        "name": name,
        "transport": "stdio",
        "command": redact(command, secrets),
        "env": sorted(server.env),
        "disabled": server.disabled,
    }
