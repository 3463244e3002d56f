"""Provider files (``providers/<name>.yaml``, the ``mcp-cli`` provider format) and their loading.

Only the file of the provider in use is read, so an unset variable in another provider's file
is never an error. The API key is resolved lazily: a missing ``${OPENROUTER_API_KEY}`` does not
stop loading (listing models or probing a local endpoint needs no key); it is raised, naming
file and field, by :meth:`ProviderConfig.require_api_key` when a request is about to be made.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator

from agent.config.env import expand, expand_tree
from agent.config.files import read_document, validate
from agent.config.paths import PROVIDER_SUFFIXES, config_dirs
from agent.errors import ConfigError
from agent.providers.routing import ProviderPreferences, ReasoningSettings

__all__ = [
    "DEFAULT_PROVIDER",
    "KEYS_URL",
    "ProviderConfig",
    "ProviderSettings",
    "available_providers",
    "check_http_url",
    "load_provider",
]

DEFAULT_PROVIDER = "openrouter"
KEYS_URL = "https://openrouter.ai/settings/keys"
"""Where OpenRouter API keys are created."""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_BASE_URL_VARIABLE = "OPENROUTER_BASE_URL"
_KEY_VARIABLE = "OPENROUTER_API_KEY"
_PLAIN_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ANY_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")


def check_http_url(value: str) -> str:
    """Return ``value`` (surrounding whitespace removed) if it is an http(s) URL with a host."""
    value = value.strip()
    if re.fullmatch(r"https?://[^/\s?#]+(?:[/?#]\S*)?", value) is None:
        raise ValueError("expected an http:// or https:// URL")
    return value


class ProviderSettings(BaseModel):
    """The ``config:`` block of a provider file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr | None = None
    api_endpoint: str
    default_model: str = Field(min_length=1)
    timeout_seconds: float = Field(default=300.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    context_window: int | None = Field(default=None, gt=0)
    reserve_tokens: int = Field(default=2000, ge=0)
    fallback_models: list[str] = Field(default_factory=list)
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    provider: ProviderPreferences | None = None
    """OpenRouter's provider routing for every request (``--only``, ``--sort``... override it)."""
    reasoning: ReasoningSettings | None = None
    """How much a reasoning model thinks (``--reasoning-effort``... override it)."""
    prompt_cache: bool = True
    """Cache breakpoints and sticky routing (``--no-cache`` turns them off)."""
    auto_fallback: bool = False
    """Use the fallback models OpenRouter names when the model is unavailable (``--auto-fallback``)."""

    @field_validator("api_endpoint")
    @classmethod
    def _endpoint_is_http_url(cls, value: str) -> str:
        # Without the trailing "/", so clients can append "/chat/completions".
        return check_http_url(value).rstrip("/")


class ProviderConfig(BaseModel):
    """One provider file, validated: how to reach an OpenAI-compatible endpoint."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interface_type: Literal["openai_compatible"]
    provider_name: str = Field(min_length=1)
    config: ProviderSettings
    _source: str = PrivateAttr(default="")
    _api_key_error: ConfigError | None = PrivateAttr(default=None)
    _api_key_missing: _MissingKey | None = PrivateAttr(default=None)

    @property
    def source(self) -> str:
        """The file this configuration was loaded from (empty when built in code)."""
        return self._source

    def require_api_key(self) -> str:
        """The API key, for a request that needs one.

        Raises:
            ConfigError: the key's variable is unset or empty, or the file has no ``api_key``;
                the message says which variable to set (and, for OpenRouter, where keys are
                created) and names the file, never a value.
        """
        if self._api_key_error is not None:
            raise self._api_key_error
        if self.config.api_key is None:
            raise self._missing_key_error(self._api_key_missing or _MissingKey(None, None))
        return self.config.api_key.get_secret_value()

    def _missing_key_error(self, missing: _MissingKey) -> ConfigError:
        """The one line for a missing key: what to set, and where the key goes."""
        source = self._source or "the provider file"
        if self.provider_name == DEFAULT_PROVIDER or "openrouter.ai" in self.config.api_endpoint:
            create = f"create a key at {KEYS_URL}"
            if missing.variable is not None and missing.variable_set:
                return ConfigError(
                    f"no API key: {missing.variable} is empty; set it ({create}), or api_key in {source}"
                )
            if missing.variable is not None:
                return ConfigError(f"no API key: set {missing.variable} ({create}), or api_key in {source}")
            if missing.template is not None:
                return ConfigError(f"no API key: api_key in {source} is empty; set it to your key ({create})")
            return ConfigError(
                f"no API key: {source} has no api_key; add api_key: ${{{_KEY_VARIABLE}}} "
                f"and set {_KEY_VARIABLE} ({create})"
            )
        variable = missing.variable or f"{_variable_stem(self.provider_name)}_API_KEY"
        if missing.template is None:
            message = f"no API key configured; expected e.g. api_key: ${{{variable}}}"
        elif missing.variable is None:
            message = "no API key: the value is empty"
        elif missing.variable_set:
            message = f"no API key: environment variable {variable} is empty"
        else:
            message = f"no API key: environment variable {variable} is not set"
        return ConfigError(message, source=self._source or None, field="config.api_key")


def available_providers(cwd: Path, env: Mapping[str, str], explicit_dir: Path | None = None) -> list[str]:
    """The provider names found in every config directory, sorted."""
    names: set[str] = set()
    for directory in config_dirs(cwd, env, explicit_dir):
        folder = directory / "providers"
        if folder.is_dir():
            names.update(p.stem for p in folder.iterdir() if p.suffix in PROVIDER_SUFFIXES and p.is_file())
    return sorted(names)


def load_provider(
    name: str | None, *, explicit: Path | None, cwd: Path, env: Mapping[str, str]
) -> ProviderConfig:
    """Find, expand and validate one provider's file.

    Args:
        name: the provider (file stem); ``None`` means the explicit file's provider, else
            :data:`DEFAULT_PROVIDER`.
        explicit: ``--config``: a provider file, or a config directory searched first.
        cwd: the working directory (for ``./config/`` and relative paths in messages).
        env: the environment to expand from (see :func:`agent.config.env.environment`).

    Raises:
        ConfigError: the provider is unknown, or its file is missing, malformed or invalid.
    """
    if name is not None and not _NAME.fullmatch(name):
        raise ConfigError(f"bad provider name {name!r}; expected letters, digits, '.', '_' or '-'")
    if explicit is not None and not explicit.is_dir():
        config = _load_file(explicit, cwd, env)
        if name is not None and name not in (config.provider_name, explicit.stem):
            raise ConfigError(
                f"file is for provider {config.provider_name!r}, not {name!r}",
                source=config.source,
                field="provider_name",
            )
        return config
    wanted = name or DEFAULT_PROVIDER
    dirs = config_dirs(cwd, env, explicit)
    for directory in dirs:
        for suffix in PROVIDER_SUFFIXES:
            path = directory / "providers" / f"{wanted}{suffix}"
            if path.is_file():
                return _load_file(path, cwd, env)
    found = available_providers(cwd, env, explicit)
    if found:
        raise ConfigError(f"unknown provider {wanted!r}; providers found: {', '.join(found)}")
    looked = ", ".join(_display(d / "providers", cwd) for d in dirs) or "no config directory exists"
    raise ConfigError(f"unknown provider {wanted!r}; no provider files found (looked in: {looked})")


def _load_file(path: Path, cwd: Path, env: Mapping[str, str]) -> ProviderConfig:
    """Parse, expand (the API key separately, lazily) and validate one provider file."""
    source = _display(path, cwd)
    raw = read_document(path, source)
    settings = raw.get("config")
    key_template: Any = None
    if isinstance(settings, dict) and isinstance(settings.get("api_key"), str):
        settings = dict(settings)
        key_template = settings.pop("api_key")
        raw = {**raw, "config": settings}
    data = expand_tree(raw, env, source)
    key_value, key_error, key_missing = _expand_api_key(key_template, env, source)
    if key_value is not None:
        data["config"]["api_key"] = key_value
    base_url = env.get(_BASE_URL_VARIABLE)
    if base_url and data.get("provider_name") == "openrouter" and isinstance(data.get("config"), dict):
        data["config"]["api_endpoint"] = _base_url_override(base_url)
    config = validate(ProviderConfig, data, source=source, template=raw)
    config._source = source
    config._api_key_error = key_error
    config._api_key_missing = key_missing
    return config


@dataclass(frozen=True, slots=True)
class _MissingKey:
    """Why there is no key: the ``api_key`` text of the file, and the variable that should hold it."""

    template: str | None
    variable: str | None
    variable_set: bool = False


def _expand_api_key(
    template: str | None, env: Mapping[str, str], source: str
) -> tuple[str | None, ConfigError | None, _MissingKey | None]:
    """The expanded key; else why it is missing, or the error (a malformed reference) to raise.

    Either is raised only when the key is needed (see :meth:`ProviderConfig.require_api_key`).
    """
    if template is None:
        return None, None, _MissingKey(None, None)
    field = "config.api_key"
    try:
        value = expand(template, env, source=source, field=field)
    except ConfigError as exc:
        unset = [name for name in _PLAIN_REFERENCE.findall(template) if name not in env]
        if not unset:
            return None, exc, None
        return None, None, _MissingKey(template, unset[0])
    if not value.strip():
        names = _ANY_REFERENCE.findall(template)
        variable = names[0] if names else None
        return None, None, _MissingKey(template, variable, variable_set=variable in env)
    return value, None, None


def _variable_stem(provider_name: str) -> str:
    """``my-llm.local`` -> ``MY_LLM_LOCAL``: the usual prefix of a provider's key variable."""
    return re.sub(r"[^A-Za-z0-9]+", "_", provider_name).strip("_").upper() or "PROVIDER"


def _base_url_override(value: str) -> str:
    try:
        return check_http_url(value).rstrip("/")
    except ValueError as exc:  # the value is not shown: a proxy URL may carry credentials
        source = f"environment variable {_BASE_URL_VARIABLE}"
        raise ConfigError(str(exc), source=source) from None


def _display(path: Path, cwd: Path) -> str:
    """``path`` relative to ``cwd`` when inside it (shorter messages), else as given."""
    try:
        return str(path.resolve().relative_to(cwd.resolve()))
    except ValueError:
        return str(path)
