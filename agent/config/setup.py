"""What ``agent init`` writes: a provider file, the API key (only when asked), MCP servers.

Nothing here prints or asks. The CLI (:mod:`agent.cli.init`) asks the person (or reads flags),
builds a :class:`SetupPlan`, shows what :func:`plan_files` would write and calls
:func:`write_files`, which writes every file at the very end: staged next to its target first,
then each renamed into place, so an interrupted set-up leaves the old files as they were.

Where things go, in the user config directory (:func:`agent.config.paths.user_config_dir`):

- ``providers/<name>.yaml``: the provider file, ``api_key: ${VARIABLE}``, never the key itself.
  Left out when it would say what the bundled file says.
- :data:`~agent.config.env.SECRETS_FILE` (``secrets.env``, mode 0600): ``VARIABLE=key``, written
  only when the user asks to store the key; :func:`agent.config.env.environment` reads it under
  the real environment, so an exported variable still wins.
- ``mcp.json`` (or the MCP file already there): ``mcpServers`` entries merged into the file,
  other entries kept as they are; an entry of the same name is replaced only when asked.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml
from pydantic import SecretStr

from agent.config.env import SECRETS_FILE
from agent.config.files import read_document, validate
from agent.config.paths import MCP_FILE_NAMES, PROVIDER_SUFFIXES, bundled_config_dir
from agent.config.providers import DEFAULT_PROVIDER, ProviderConfig, check_http_url
from agent.errors import ConfigError

if TYPE_CHECKING:
    import httpx

    from agent.models.catalog import Catalog, CatalogEntry
    from agent.providers.key_info import KeyInfo

__all__ = [
    "PlannedFile",
    "ProviderChoice",
    "SetupPlan",
    "check_key",
    "check_variable",
    "find_provider",
    "load_models",
    "mask_key",
    "mcp_file",
    "new_provider",
    "plan_files",
    "server_conflicts",
    "suggested_models",
    "verify_key",
    "write_files",
]

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEY_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_BASE_URL_VARIABLE = "OPENROUTER_BASE_URL"
_NO_KEY = "none"
"""What a provider without a key sends (local servers ignore it): ``${VAR:-none}``."""


def mask_key(key: str) -> str:
    """A key as it may be shown: its start and its last three characters (``sk-or-v1-…def``)."""
    key = key.strip()
    if len(key) < 16:
        return "…"
    head = key[:9] if key.startswith("sk-or-v1-") else key[: min(6, len(key) // 4)]
    return f"{head}…{key[-3:]}"


def check_key(text: str) -> str:
    """The key as typed or pasted, surrounding whitespace removed.

    Raises:
        ValueError: it is empty, or has spaces, quotes or control characters (a paste gone
            wrong); the message never shows the key.
    """
    key = text.strip()
    if not key:
        raise ValueError("the key is empty")
    if any(char.isspace() or not char.isprintable() or char in "'\"\\#" for char in key):
        raise ValueError("the key has spaces, quotes or control characters; paste only the key")
    return key


def check_variable(text: str) -> str:
    """An environment variable name (``OPENROUTER_API_KEY``).

    Raises:
        ValueError: it is not letters, digits and ``_``, starting with a letter or ``_``.
    """
    name = text.strip()
    if not _VARIABLE.fullmatch(name):
        raise ValueError(f"expected a variable name (letters, digits, _), got {name!r}")
    return name


@dataclass(frozen=True)
class ProviderChoice:
    """The provider being set up: its file's name, endpoint, key variable and default model.

    Attributes:
        name: the file stem and ``provider_name`` (``openrouter``).
        endpoint: the API root.
        key_variable: the variable ``api_key`` refers to (``OPENROUTER_API_KEY``); ``None`` when
            the file has none.
        default_model: the file's ``default_model`` (empty for a new endpoint).
        document: the provider file to start from (the user's, the bundled one, or a new one).
        path: where ``document`` was read (``None``: new).
    """

    name: str
    endpoint: str
    key_variable: str | None
    default_model: str
    document: Mapping[str, Any] = field(repr=False)
    path: Path | None = None

    @property
    def is_openrouter(self) -> bool:
        """OpenRouter (it has ``GET /key`` and a catalog with tool support and prices)."""
        return self.name == DEFAULT_PROVIDER or "openrouter.ai" in self.endpoint

    def reached_at(self, env: Mapping[str, str]) -> str:
        """Where requests go: ``OPENROUTER_BASE_URL`` moves the openrouter provider, as in a run.

        Raises:
            ConfigError: ``OPENROUTER_BASE_URL`` is not an http(s) URL (its value is not shown).
        """
        override = env.get(_BASE_URL_VARIABLE)
        if not override or self.document.get("provider_name") != DEFAULT_PROVIDER:
            return self.endpoint
        try:
            return check_http_url(override).rstrip("/")
        except ValueError as exc:
            raise ConfigError(str(exc), source=f"environment variable {_BASE_URL_VARIABLE}") from None


def find_provider(name: str, config_dir: Path) -> ProviderChoice | None:
    """The provider ``name`` as the user config directory or the bundled config has it.

    A working directory's ``./config`` is not looked at: ``agent init`` writes the user's own
    configuration, whatever directory it runs in.

    Raises:
        ConfigError: the name is malformed, or the file found is malformed.
    """
    if not _NAME.fullmatch(name):
        raise ConfigError(f"bad provider name {name!r}; expected letters, digits, '.', '_' or '-'")
    bundled = bundled_config_dir()
    for directory in (config_dir, bundled):
        if directory is None:
            continue
        for suffix in PROVIDER_SUFFIXES:
            path = directory / "providers" / f"{name}{suffix}"
            if path.is_file():
                return _choice_from(name, path)
    return None


def _choice_from(name: str, path: Path) -> ProviderChoice:
    document = read_document(path)
    settings = document.get("config")
    if not isinstance(settings, dict):
        raise ConfigError("expected a 'config' mapping", source=str(path), field="config")
    endpoint = settings.get("api_endpoint")
    if not isinstance(endpoint, str):
        raise ConfigError("expected a URL", source=str(path), field="config.api_endpoint")
    template = settings.get("api_key")
    match = _KEY_REFERENCE.fullmatch(template.strip()) if isinstance(template, str) else None
    model = settings.get("default_model")
    return ProviderChoice(
        name=name,
        endpoint=endpoint.strip().rstrip("/"),
        key_variable=match.group(1) if match else None,
        default_model=model if isinstance(model, str) else "",
        document=document,
        path=path,
    )


def new_provider(url: str, name: str | None = None) -> ProviderChoice:
    """A provider file for an OpenAI-compatible endpoint at ``url`` (named after its host).

    Raises:
        ConfigError: ``url`` is not an http(s) URL, or ``name`` is malformed.
    """
    try:
        endpoint = check_http_url(url).rstrip("/")
    except ValueError as exc:
        raise ConfigError(f"{exc}, got {url.strip()!r}", source="--endpoint") from None
    name = name or (urlsplit(endpoint).hostname or "custom")
    if not _NAME.fullmatch(name):
        raise ConfigError(f"bad provider name {name!r}; expected letters, digits, '.', '_' or '-'")
    variable = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper() + "_API_KEY"
    document = {
        "interface_type": "openai_compatible",
        "provider_name": name,
        "config": {
            "api_key": f"${{{variable}}}",
            "api_endpoint": endpoint,
            "default_model": "",
            "timeout_seconds": 300,
            "max_retries": 2,
            "reserve_tokens": 2000,
        },
    }
    return ProviderChoice(name, endpoint, variable, "", document)


def mcp_file(config_dir: Path) -> Path:
    """The MCP config of the user config directory: the one there, else ``mcp.json``."""
    for name in MCP_FILE_NAMES:
        if (config_dir / name).is_file():
            return config_dir / name
    return config_dir / "mcp.json"


def _mcp_document(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {"mcpServers": {}}
    document = read_document(path)
    servers = document.get("mcpServers")
    if not isinstance(servers, dict):
        raise ConfigError("expected an 'mcpServers' mapping", source=str(path), field="mcpServers")
    return document


def server_conflicts(config_dir: Path, servers: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The names among ``servers`` that the MCP file already has with a different entry.

    Raises:
        ConfigError: the MCP file is malformed.
    """
    existing = _mcp_document(mcp_file(config_dir))["mcpServers"]
    return [name for name, entry in servers.items() if name in existing and existing[name] != entry]


@dataclass
class SetupPlan:
    """Everything the person chose.

    Attributes:
        provider: the provider set up.
        model: its default model.
        key_variable: the variable the provider file's ``api_key`` refers to; ``None``: the
            endpoint needs no key.
        key: the key itself, only when it is to be stored in ``secrets.env``.
        servers: MCP entries to add (by name).
        replace: names of existing entries the person agreed to replace with ``servers``' own.
    """

    provider: ProviderChoice
    model: str
    key_variable: str | None
    key: SecretStr | None = None
    servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    replace: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PlannedFile:
    """One file to write: where, what (``text``), and a summary that never shows the key.

    Attributes:
        path: the file.
        text: its new content.
        secret: it holds the key: written with mode 0600.
        summary: what it holds, for the person (``OPENROUTER_API_KEY=sk-or-v1-…def``).
        existed: the file was there before (it is updated).
    """

    path: Path
    text: str = field(repr=False)
    secret: bool
    summary: str
    existed: bool


def plan_files(plan: SetupPlan, config_dir: Path) -> list[PlannedFile]:
    """The files ``plan`` needs written in ``config_dir`` (nothing is written here).

    Raises:
        ConfigError: an existing file is malformed, or the provider file would be invalid.
    """
    files = [
        _provider_file(plan, config_dir),
        _secrets_file(plan, config_dir),
        _servers_file(plan, config_dir),
    ]
    return [planned for planned in files if planned is not None]


def _provider_file(plan: SetupPlan, config_dir: Path) -> PlannedFile | None:
    choice = plan.provider
    target = next(
        (
            config_dir / "providers" / f"{choice.name}{s}"
            for s in PROVIDER_SUFFIXES
            if (config_dir / "providers" / f"{choice.name}{s}").is_file()
        ),
        config_dir / "providers" / f"{choice.name}.yaml",
    )
    existed = target.is_file()
    document = copy.deepcopy(dict(read_document(target) if existed else choice.document))
    settings = document.setdefault("config", {})
    if not isinstance(settings, dict):
        raise ConfigError("expected a 'config' mapping", source=str(target), field="config")
    settings["default_model"] = plan.model
    if plan.key_variable is None:
        variable = re.sub(r"[^A-Za-z0-9]+", "_", choice.name).strip("_").upper() + "_API_KEY"
        settings["api_key"] = f"${{{variable}:-{_NO_KEY}}}"
    else:
        settings["api_key"] = f"${{{plan.key_variable}}}"
    unchanged = existed and document == read_document(target)
    as_bundled = not existed and choice.path is not None and document == read_document(choice.path)
    if unchanged or as_bundled:
        return None
    checked = copy.deepcopy(document)
    checked["config"].pop("api_key", None)
    validate(ProviderConfig, checked, source=str(target))
    header = (
        "# Written by 'agent init'. The key is never in this file: api_key names the variable\n"
        f"# that holds it (exported, or stored in {SECRETS_FILE} next to providers/).\n"
    )
    text = header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False)
    key = settings["api_key"]
    summary = f"provider {choice.name}: {choice.endpoint}, default model {plan.model}, api_key {key}"
    return PlannedFile(target, text, secret=False, summary=summary, existed=existed)


def _secrets_file(plan: SetupPlan, config_dir: Path) -> PlannedFile | None:
    if plan.key is None or plan.key_variable is None:
        return None
    target = config_dir / SECRETS_FILE
    existed = target.is_file()
    kept: list[str] = []
    if existed:
        try:
            lines = target.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read file: {type(exc).__name__}", source=str(target)) from None
        pattern = re.compile(rf"\s*(export\s+)?{re.escape(plan.key_variable)}\s*=")
        kept = [line for line in lines if not pattern.match(line)]
    else:
        kept = ["# Secrets for agent's config files (${VAR}); the real environment wins. Keep it 0600."]
    line = f"{plan.key_variable}={plan.key.get_secret_value()}"
    text = "\n".join([*kept, line]) + "\n"
    summary = f"{plan.key_variable}={mask_key(plan.key.get_secret_value())}"
    return PlannedFile(target, text, secret=True, summary=summary, existed=existed)


def _servers_file(plan: SetupPlan, config_dir: Path) -> PlannedFile | None:
    if not plan.servers:
        return None
    target = mcp_file(config_dir)
    existed = target.is_file()
    document = _mcp_document(target)
    servers: dict[str, Any] = document["mcpServers"]
    said: list[str] = []
    changed = False
    for name, entry in plan.servers.items():
        if name not in servers:
            servers[name] = entry
            said.append(f"{name} (added)")
            changed = True
        elif servers[name] == entry:
            said.append(f"{name} (already there)")
        elif name in plan.replace:
            servers[name] = entry
            said.append(f"{name} (replaced)")
            changed = True
        else:
            said.append(f"{name} (kept as it was)")
    if not changed:
        return None
    others = len(servers) - len(plan.servers)
    if others > 0:
        said.append(f"{others} other entr{'y' if others == 1 else 'ies'} kept")
    if target.suffix == ".json":
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return PlannedFile(target, text, secret=False, summary="servers: " + ", ".join(said), existed=existed)


def write_files(files: Sequence[PlannedFile]) -> None:
    """Write every file: all staged first, then each moved into place (a failure leaves no stage).

    A file holding the key gets mode 0600 before its content is written; others keep the mode
    of the file they replace, or 0644.

    Raises:
        ConfigError: a file cannot be written (naming it).
    """
    staged: list[tuple[Path, PlannedFile]] = []
    current: Path | None = None
    try:
        for planned in files:
            current = planned.path
            staged.append((_stage(planned), planned))
        for temp, planned in staged:
            current = planned.path
            temp.replace(planned.path)
    except OSError as exc:
        raise ConfigError(f"cannot write: {exc.strerror or exc}", source=str(current)) from None
    finally:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)


def _stage(planned: PlannedFile) -> Path:
    planned.path.parent.mkdir(parents=True, exist_ok=True)
    if planned.secret:
        mode = 0o600
    elif planned.existed:
        mode = planned.path.stat().st_mode & 0o777
    else:
        mode = 0o644
    fd, name = tempfile.mkstemp(dir=planned.path.parent, prefix=f".{planned.path.name}.", suffix=".tmp")
    temp = Path(name)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(planned.text)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


async def verify_key(http: httpx.AsyncClient, endpoint: str, key: str) -> KeyInfo:
    """``GET /key`` with ``key``: its credits and limits (:func:`~agent.providers.key_info.fetch_key_info`).

    Raises:
        ProviderError: the key was refused (401), the endpoint has no ``/key`` (404), or failed.
    """
    from agent.providers.key_info import fetch_key_info

    return await fetch_key_info(http, endpoint, key)


async def load_models(http: httpx.AsyncClient, endpoint: str, key: str | None, cache_dir: Path) -> Catalog:
    """The endpoint's model catalog (cached as ``agent models`` caches it).

    Raises:
        ProviderError: it cannot be fetched and there is no cache.
    """
    from agent.models.catalog import load_catalog

    return await load_catalog(http, endpoint, api_key=key, cache_dir=cache_dir)


def suggested_models(
    catalog: Catalog, default: str, query: str = "", limit: int = 10
) -> tuple[list[tuple[str, CatalogEntry | None]], int]:
    """The short list to choose a default model from, and how many models match in all.

    Without ``query``: ``default`` first, then the newest models that take tools. With it: the
    models whose id or name has every word of it (``free``, ``claude``), tool-takers first,
    newest first.
    """
    from agent.models.catalog import select

    if query.strip():
        found = select(catalog.entries.values(), search=query, sort="newest")
        found.sort(key=lambda entry: not entry.supports_tools)
        return [(entry.id, entry) for entry in found[:limit]], len(found)
    listed: list[tuple[str, CatalogEntry | None]] = []
    if default:
        listed.append((default, catalog.lookup(default)))
    newest = [e for e in select(catalog.entries.values(), tools=True, sort="newest") if e.id != default]
    listed.extend((entry.id, entry) for entry in newest[: limit - len(listed)])
    return listed, len(catalog.entries)
