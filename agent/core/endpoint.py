"""The provider an agent talks to: its file found, expanded and validated, with the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agent.config.env import environment
from agent.config.providers import ProviderConfig, load_provider
from agent.config.trust import ProjectTrust, check_project
from agent.errors import ConfigError

if TYPE_CHECKING:
    from agent.models.catalog import Catalog, CatalogKind
    from agent.providers.key_info import KeyInfo

__all__ = ["Endpoint", "catalog_of", "key_info_of", "open_endpoint"]


@dataclass(frozen=True)
class Endpoint:
    """The provider a run talks to, with the environment its files were expanded from.

    Attributes:
        provider: the validated provider file.
        env: the variables config files expand from (a trusted ``.env`` merged under the real
            environment).
        cwd: the working directory.
        config_dir: an explicit config directory (``--config DIR``), searched first.
        project: whether the working directory's own config files are trusted.
    """

    provider: ProviderConfig
    env: dict[str, str]
    cwd: Path
    config_dir: Path | None
    project: ProjectTrust

    @property
    def base_url(self) -> str:
        """The API root (``OPENROUTER_BASE_URL`` applied)."""
        return self.provider.config.api_endpoint

    @property
    def name(self) -> str:
        """The provider's name (``openrouter`` groups fallbacks into one request)."""
        return self.provider.provider_name

    def optional_key(self) -> str | None:
        """The API key if one is configured (the catalog needs none)."""
        try:
            return self.provider.require_api_key()
        except ConfigError:
            return None


def open_endpoint(
    provider: str | None,
    config: Path | None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Endpoint:
    """Load the provider's file (``provider``, an explicit ``config`` file or directory, lookup order).

    The working directory's ``./config/`` and ``.env`` count only when trusted (see
    :mod:`agent.config.trust`); :attr:`Endpoint.project` says what was found.

    Raises:
        ConfigError: the provider or its file is wrong.
    """
    cwd = cwd or Path.cwd()
    real = os.environ if env is None else env
    project = check_project(cwd, real)
    variables = environment(cwd, real)
    loaded = load_provider(provider, explicit=config, cwd=cwd, env=variables)
    config_dir = config if config is not None and config.is_dir() else None
    return Endpoint(loaded, variables, cwd, config_dir, project)


async def catalog_of(endpoint: Endpoint, *, refresh: bool = False, kind: CatalogKind = "chat") -> Catalog:
    """The endpoint's model catalog (the disk cache first unless ``refresh``; maybe stale).

    ``kind="embeddings"``: its embedding models (``GET /embeddings/models``).

    Raises:
        ProviderError: it cannot be fetched and there is no cache.
    """
    from agent.cache import user_cache_dir
    from agent.models.catalog import load_catalog
    from agent.providers.openai_compat import create_http_client

    async with create_http_client(endpoint.provider.config.timeout_seconds) as http:
        return await load_catalog(
            http,
            endpoint.base_url,
            api_key=endpoint.optional_key(),
            cache_dir=user_cache_dir(endpoint.env),
            refresh=refresh,
            kind=kind,
        )


async def key_info_of(endpoint: Endpoint) -> KeyInfo:
    """What the endpoint says about its API key: credits used, limit, remaining, rate limit.

    Raises:
        ConfigError: no API key is configured.
        ProviderError: the endpoint refused the key (401), has no key information, or failed.
    """
    from agent.providers.key_info import fetch_key_info
    from agent.providers.openai_compat import create_http_client

    api_key = endpoint.provider.require_api_key()
    async with create_http_client(endpoint.provider.config.timeout_seconds) as http:
        return await fetch_key_info(http, endpoint.base_url, api_key)
